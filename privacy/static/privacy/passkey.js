// After a passkey is registered on the sign-in page, continue to where the user was going
// (the session is verified by then). Sign-in with a passkey redirects by itself.
document.addEventListener("otp_webauthn.register_complete", function () {
  var next = document.querySelector("input[name='next']");
  window.location.assign(next && next.value ? next.value : "/admin/");
});
