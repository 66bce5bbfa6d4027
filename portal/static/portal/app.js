// Navigator family portal: registers the service worker that keeps the app shell for offline use.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) return;
  var url = document.documentElement.getAttribute("data-service-worker");
  if (!url) return;
  navigator.serviceWorker.register(url, { scope: "/portal/" }).catch(function () {
    /* the portal works without it, online */
  });
})();
