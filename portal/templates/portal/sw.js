// Navigator family portal: the service worker. It keeps the app shell (styles, scripts, icons and
// an offline page) so the portal opens without a connection; it never stores a case page, a
// message or a record: pages and API calls always go to the network.
{% load static %}"use strict";

var SHELL = "navigator-shell-{{ version }}";
var OFFLINE_URL = "{% url 'portal:offline' %}";
var SHELL_URLS = [
  OFFLINE_URL,
  "{% static 'portal/portal.css' %}",
  "{% static 'portal/upload.js' %}",
  "{% static 'portal/app.js' %}",
  "{% static 'portal/icon-192.png' %}",
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(SHELL)
      .then(function (cache) {
        return cache.addAll(SHELL_URLS);
      })
      .then(function () {
        return self.skipWaiting();
      })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name !== SHELL;
            })
            .map(function (name) {
              return caches.delete(name);
            })
        );
      })
      .then(function () {
        return self.clients.claim();
      })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Pages hold medical data: never cached; without a connection, the offline page.
    event.respondWith(
      fetch(request).catch(function () {
        return caches.match(OFFLINE_URL);
      })
    );
    return;
  }
  if (SHELL_URLS.indexOf(url.pathname) >= 0) {
    event.respondWith(
      caches.match(request).then(function (cached) {
        return cached || fetch(request);
      })
    );
  }
});
