// Navigator family portal: registers the service worker that keeps the app shell for offline use
// (signed-in pages only: after sign-out, nothing is put back on the device).
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) return;
  var url = document.documentElement.getAttribute("data-service-worker");
  if (!url) return;
  navigator.serviceWorker.register(url, { scope: "/portal/" }).catch(function () {
    /* the portal works without it, online */
  });
})();
