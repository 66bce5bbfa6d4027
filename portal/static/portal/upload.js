// Navigator family portal: sending records over tus 1.0.0 (resumable uploads).
//
// A small tus client of our own (creation, HEAD to resume, PATCH in chunks, termination):
// - each file is created once (POST) and its upload URL kept in localStorage under
//   "navigator-upload:<case>:<name>:<size>:<lastModified>", so after a dropped connection or a
//   page reload, adding the same file again asks the server for its offset (HEAD) and continues;
// - chunks go by XMLHttpRequest, whose upload progress events drive the per-file progress bar;
// - network failures are retried with back-off, and resume when the browser is online again;
// - all texts come translated from the page (json_script "upload-messages").
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  if (!form) return;

  var M = JSON.parse(document.getElementById("upload-messages").textContent);
  var endpoint = form.getAttribute("data-endpoint");
  var caseId = form.getAttribute("data-case");
  var chunkSize = parseInt(form.getAttribute("data-chunk-size"), 10) || 4 * 1024 * 1024;
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
  var checklistUrl = form.getAttribute("data-checklist-url");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var input = document.getElementById("upload-files");
  var dropzone = document.getElementById("dropzone");
  var list = document.getElementById("upload-list");
  var empty = document.getElementById("upload-empty");
  var formError = document.getElementById("upload-error");
  var announcer = document.getElementById("upload-announcer");
  var typeSelect = document.getElementById("id_doc_type");
  var dateInput = document.getElementById("id_clinical_date");
  var RETRY_SECONDS = [1, 2, 4, 8, 15, 30];
  var lang = document.documentElement.lang || "en";
  var pluralRules = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
  var megabytes = window.Intl ? new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) : null;
  // What may be sent, by name and by the first bytes (the server checks both again).
  var EXTENSIONS = ["pdf", "jpg", "jpeg", "jpe", "png", "tif", "tiff", "heic", "heif", "dcm", "dicom", "zip", "docx", "xlsx"];
  var HEIC_BRANDS = ["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1"];
  var queue = [];
  var sending = {}; // storage keys of the files queued or being sent, so a file is never sent twice at once
  var running = false;
  var pending = 0;

  function fmt(template, values) {
    return template
      .replace(/%\((\w+)\)s/g, function (_m, key) {
        return values && key in values ? String(values[key]) : "";
      })
      .replace(/%%/g, "%");
  }

  // A count's text in the page's language: the server sends each plural form under a sample
  // number; the browser's plural rules say which sample has the same form as n.
  function plural(forms, n) {
    var text = forms["2"];
    if (pluralRules) {
      var wanted = pluralRules.select(n);
      var match = Object.keys(forms).find(function (sample) {
        return pluralRules.select(Number(sample)) === wanted;
      });
      if (match) text = forms[match];
    } else if (n === 1) {
      text = forms["1"];
    }
    return fmt(text, { count: n });
  }

  function mb(bytes) {
    var value = bytes / (1024 * 1024);
    return megabytes ? megabytes.format(value) : value.toFixed(1);
  }

  function ascii(bytes, start, end) {
    return String.fromCharCode.apply(null, Array.prototype.slice.call(bytes, start, end));
  }

  function sniffOk(bytes) {
    if (ascii(bytes, 0, 5) === "%PDF-") return true;
    if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return true;
    if (bytes[0] === 0x89 && ascii(bytes, 1, 4) === "PNG") return true;
    if (ascii(bytes, 0, 4) === "II*\u0000" || ascii(bytes, 0, 4) === "MM\u0000*") return true;
    if (ascii(bytes, 4, 8) === "ftyp" && HEIC_BRANDS.indexOf(ascii(bytes, 8, 12)) >= 0) return true;
    if (bytes.length >= 132 && ascii(bytes, 128, 132) === "DICM") return true;
    if (ascii(bytes, 0, 4) === "PK\u0003\u0004") return true;
    return false;
  }

  // The file's name and first bytes, checked before anything is sent.
  function typeAccepted(file) {
    var name = file.name.replace(/^\.+|\.+$/g, "");
    var dot = name.lastIndexOf(".");
    var extension = dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
    if (extension && EXTENSIONS.indexOf(extension) < 0) return Promise.resolve(false);
    return file
      .slice(0, 132)
      .arrayBuffer()
      .then(function (buffer) {
        return sniffOk(new Uint8Array(buffer));
      })
      .catch(function () {
        return false;
      });
  }

  function b64(text) {
    // Base64 of the UTF-8 bytes, as tus metadata requires (file names may be Chinese or Arabic).
    var bytes = new TextEncoder().encode(text);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary);
  }

  function storageKey(file) {
    return ["navigator-upload", caseId, file.name, file.size, file.lastModified].join(":");
  }

  // A file being sent is kept in IndexedDB (with its record type and date) until it is received,
  // refused or cancelled, so that a closed tab or a reload picks it up again without the family
  // choosing it again; sign-out clears it (Clear-Site-Data).
  var DB_NAME = "navigator-uploads";

  function database() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) return reject(new Error("no IndexedDB"));
      var opening = indexedDB.open(DB_NAME, 1);
      opening.onupgradeneeded = function () {
        opening.result.createObjectStore("uploads");
      };
      opening.onsuccess = function () {
        resolve(opening.result);
      };
      opening.onerror = function () {
        reject(opening.error);
      };
    });
  }

  function stored(mode, work) {
    return database()
      .then(function (db) {
        return new Promise(function (resolve) {
          var tx = db.transaction("uploads", mode);
          var result = work(tx.objectStore("uploads"));
          tx.oncomplete = function () {
            db.close();
            resolve(result && result.result);
          };
          tx.onerror = tx.onabort = function () {
            db.close();
            resolve(undefined);
          };
        });
      })
      .catch(function () {
        return undefined; // no IndexedDB: a reload then needs the file chosen again
      });
  }

  function keep(item) {
    return stored("readwrite", function (store) {
      return store.put(
        { caseId: caseId, file: item.file, docType: item.docType, clinicalDate: item.clinicalDate },
        storageKey(item.file)
      );
    });
  }

  function remember(file, url) {
    try {
      localStorage.setItem(storageKey(file), url);
    } catch (e) {
      /* private mode or full storage: resuming after reload is then not possible */
    }
  }

  function recall(file) {
    try {
      return localStorage.getItem(storageKey(file));
    } catch (e) {
      return null;
    }
  }

  function forget(file) {
    try {
      localStorage.removeItem(storageKey(file));
    } catch (e) {
      /* nothing to forget */
    }
    stored("readwrite", function (store) {
      return store.delete(storageKey(file));
    });
  }

  function showFormError(text) {
    formError.textContent = text;
    formError.hidden = !text;
  }

  // --- One file ------------------------------------------------------------------------------

  function Item(file, docType, clinicalDate) {
    this.file = file;
    this.docType = docType;
    this.clinicalDate = clinicalDate;
    this.url = null;
    this.offset = 0;
    this.attempt = 0;
    this.xhr = null;
    this.cancelled = false;
    this.lastAnnounced = -1;

    var li = document.createElement("li");
    li.className = "upload-item";
    var name = document.createElement("p");
    name.className = "name";
    name.textContent = file.name;
    var icon = document.createElement("span");
    icon.className = "state-icon";
    icon.setAttribute("aria-hidden", "true");
    var progress = document.createElement("progress");
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute("aria-label", file.name);
    var status = document.createElement("p");
    status.className = "status";
    status.textContent = M.waiting;
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "small secondary";
    cancel.textContent = M.cancel;
    var self = this;
    cancel.addEventListener("click", function () {
      self.cancel();
    });
    name.insertBefore(icon, name.firstChild);
    li.appendChild(name);
    li.appendChild(progress);
    li.appendChild(status);
    li.appendChild(cancel);
    this.li = li;
    this.icon = icon;
    this.started = null;
    this.progress = progress;
    this.status = status;
    this.cancelButton = cancel;
    list.appendChild(li);
    empty.hidden = true;
  }

  // Visible status changes often; screen readers hear it through one polite live region,
  // only for changes worth announcing (start, each quarter, retry, done, error).
  Item.prototype.setStatus = function (text, quiet) {
    this.status.textContent = text;
    if (!quiet && announcer) announcer.textContent = this.file.name + ": " + text;
  };

  Item.prototype.setProgress = function (sent) {
    var percent = this.file.size ? Math.floor((sent / this.file.size) * 100) : 100;
    this.progress.value = percent;
    this.li.setAttribute("data-offset", String(sent));
    // Screen readers hear every quarter, not every packet.
    var quarter = Math.floor(percent / 25);
    var quiet = quarter === this.lastAnnounced;
    this.lastAnnounced = quarter;
    var text = fmt(M.uploading, { percent: percent, sent: mb(sent), total: mb(this.file.size) });
    // Time left from this session's speed, once there is enough to measure.
    var now = Date.now();
    if (!this.started || sent < this.started.sent) this.started = { at: now, sent: sent };
    var elapsed = (now - this.started.at) / 1000;
    var rate = elapsed > 0 ? (sent - this.started.sent) / elapsed : 0;
    if (elapsed >= 2 && rate > 0 && sent < this.file.size) {
      var seconds = Math.max(1, Math.ceil((this.file.size - sent) / rate));
      text += " · " + (seconds < 60 ? plural(M.seconds_left, seconds) : plural(M.minutes_left, Math.ceil(seconds / 60)));
    }
    this.setStatus(text, quiet);
  };

  // A finished file says how it ended in words and with a mark; a file not sent shows no bar
  // (a full bar reads as success).
  Item.prototype.finish = function (ok, text) {
    delete sending[storageKey(this.file)];
    this.li.classList.add(ok ? "done" : "failed");
    this.li.setAttribute("data-state", ok ? "done" : "failed");
    this.icon.textContent = ok ? "✓" : "⚠";
    this.setStatus(text);
    this.cancelButton.hidden = true;
    if (ok) this.progress.value = 100;
    else this.progress.hidden = true;
  };

  Item.prototype.request = function (method, url, headers, body, onProgress) {
    var self = this;
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      self.xhr = xhr;
      xhr.open(method, url, true);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      xhr.setRequestHeader("Accept", "application/json");
      if (method !== "HEAD") xhr.setRequestHeader("X-CSRFToken", csrf);
      Object.keys(headers || {}).forEach(function (key) {
        xhr.setRequestHeader(key, headers[key]);
      });
      if (onProgress && xhr.upload) {
        xhr.upload.addEventListener("progress", function (event) {
          onProgress(event.loaded);
        });
      }
      xhr.onload = function () {
        resolve({ status: xhr.status, xhr: xhr });
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () {
        resolve({ status: 0, xhr: xhr });
      };
      xhr.send(body === undefined ? null : body);
    });
  };

  Item.prototype.errorText = function (response) {
    var data = {};
    try {
      data = JSON.parse(response.xhr.responseText || "{}");
    } catch (e) {
      data = {};
    }
    var code = data.code || "";
    var fields = data.fields || {};
    var codes = M.codes || {};
    // The server's own texts are English: the family reads the translated text for its code.
    if (codes[code]) return fmt(M.failed, { reason: codes[code] });
    if (response.status === 413) return M.too_large;
    if (fields.clinical_date) return M.bad_date;
    if (fields.doc_type) return M.need_type;
    if (response.status === 415 || fields.file) return M.bad_type;
    return M.generic;
  };

  Item.prototype.waitToRetry = function () {
    var self = this;
    var seconds = RETRY_SECONDS[Math.min(this.attempt, RETRY_SECONDS.length - 1)];
    this.attempt += 1;
    this.li.setAttribute("data-state", "retrying");
    return new Promise(function (resolve) {
      if (!navigator.onLine) {
        self.setStatus(M.offline);
        window.addEventListener("online", function again() {
          window.removeEventListener("online", again);
          resolve();
        });
        return;
      }
      self.setStatus(plural(M.retrying, seconds));
      setTimeout(resolve, seconds * 1000);
    });
  };

  // Ask the server how much it has (after a reload or a dropped connection).
  Item.prototype.head = async function () {
    while (!this.cancelled) {
      var response = await this.request("HEAD", this.url, {});
      if (response.status === 200) {
        this.offset = parseInt(response.xhr.getResponseHeader("Upload-Offset"), 10) || 0;
        return true;
      }
      if (response.status === 404 || response.status === 410) {
        return false; // gone or expired: start afresh
      }
      if (response.status === 401 || response.status === 403) {
        this.finish(false, M.session);
        throw new Error("session");
      }
      await this.waitToRetry();
    }
    return false;
  };

  Item.prototype.create = async function () {
    var meta = [
      "case " + b64(String(caseId)),
      "doc_type " + b64(this.docType),
      "filename " + b64(this.file.name),
    ];
    if (this.file.type) meta.push("filetype " + b64(this.file.type));
    if (this.clinicalDate) meta.push("clinical_date " + b64(this.clinicalDate));
    while (!this.cancelled) {
      var response = await this.request("POST", endpoint, {
        "Upload-Length": String(this.file.size),
        "Upload-Metadata": meta.join(","),
      });
      if (response.status === 201) {
        this.url = response.xhr.getResponseHeader("Location");
        this.offset = 0;
        remember(this.file, this.url);
        await keep(this);
        return;
      }
      if (response.status === 0 || response.status >= 500 || response.status === 429) {
        await this.waitToRetry();
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        this.finish(false, M.session);
        throw new Error("session");
      }
      this.finish(false, this.errorText(response));
      throw new Error("refused");
    }
  };

  Item.prototype.run = async function () {
    var file = this.file;
    this.setStatus(M.starting);
    var stored = recall(file);
    if (stored) {
      this.url = stored;
      var known = await this.head();
      if (known) {
        this.setProgress(this.offset);
        this.setStatus(fmt(M.resuming, { percent: Math.floor((this.offset / file.size) * 100) }));
      } else {
        forget(file);
        this.url = null;
      }
    }
    if (!this.url) await this.create();
    var self = this;
    while (!this.cancelled) {
      if (this.offset >= file.size && file.size > 0) break;
      var end = Math.min(this.offset + chunkSize, file.size);
      var start = this.offset;
      this.li.setAttribute("data-state", "sending");
      var response = await this.request(
        "PATCH",
        this.url,
        { "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(start) },
        file.slice(start, end),
        function (loaded) {
          self.setProgress(Math.min(start + loaded, file.size));
        }
      );
      if (this.cancelled) return;
      if (response.status === 204) {
        this.attempt = 0;
        this.offset = parseInt(response.xhr.getResponseHeader("Upload-Offset"), 10);
        this.setProgress(this.offset);
        if (response.xhr.getResponseHeader("Navigator-Document-Id")) {
          forget(file);
          this.finish(true, M.done);
          refreshChecklist();
          return;
        }
        if (this.offset >= file.size) this.setStatus(M.processing);
        continue;
      }
      if (response.status === 409 || response.status === 423) {
        var body = {};
        try {
          body = JSON.parse(response.xhr.responseText || "{}");
        } catch (e) {
          body = {};
        }
        if (body.code === "duplicate") {
          forget(file);
          this.finish(false, M.duplicate);
          return;
        }
        // Someone (an earlier tab, a retried request) moved the offset: ask and continue.
        if (!(await this.head())) {
          forget(file);
          this.url = null;
          await this.create();
        }
        continue;
      }
      if (response.status === 404 || response.status === 410) {
        forget(file);
        this.url = null;
        await this.create();
        continue;
      }
      if (response.status === 0 || response.status >= 500 || response.status === 429) {
        await this.waitToRetry();
        if (!(await this.head())) {
          forget(file);
          this.url = null;
          await this.create();
        }
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        this.finish(false, M.session);
        return;
      }
      // Refused when complete (type, corrupt file...): the server has discarded it.
      forget(file);
      this.finish(false, this.errorText(response));
      return;
    }
  };

  Item.prototype.cancel = function () {
    this.cancelled = true;
    if (this.xhr) this.xhr.abort();
    if (this.url) {
      var xhr = new XMLHttpRequest();
      xhr.open("DELETE", this.url, true);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.send();
    }
    forget(this.file);
    this.finish(false, M.cancelled);
  };

  // --- The queue: one file at a time, kinder to a weak connection ------------------------------

  async function drain() {
    if (running) return;
    running = true;
    while (queue.length) {
      var item = queue.shift();
      try {
        await item.run();
      } catch (e) {
        /* the item shows its own error */
      }
      pending -= 1;
    }
    running = false;
  }

  function addFiles(files) {
    showFormError("");
    var docType = typeSelect.value;
    var clinicalDate = dateInput.value;
    if (!docType) {
      showFormError(M.need_type);
      typeSelect.focus();
      return;
    }
    if (clinicalDate && dateInput.max && clinicalDate > dateInput.max) {
      showFormError(M.bad_date);
      dateInput.focus();
      return;
    }
    var checks = Array.prototype.map.call(files, function (file) {
      if (sending[storageKey(file)]) return Promise.resolve(); // already on its way (picked up again)
      var item = new Item(file, docType, clinicalDate);
      if (file.size === 0) {
        item.finish(false, M.empty);
        return Promise.resolve();
      }
      if (maxBytes && file.size > maxBytes) {
        item.finish(false, M.too_large);
        return Promise.resolve();
      }
      pending += 1;
      sending[storageKey(file)] = true;
      return typeAccepted(file).then(function (accepted) {
        if (!accepted) {
          pending -= 1;
          item.finish(false, fmt(M.failed, { reason: M.codes.file_type }));
          return;
        }
        queue.push(item);
      });
    });
    Promise.all(checks).then(drain);
  }

  function refreshChecklist() {
    var region = document.getElementById("checklist-region");
    if (!region || !checklistUrl) return;
    fetch(checklistUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html) region.innerHTML = html;
      })
      .catch(function () {
        /* the checklist refreshes on the next page load */
      });
  }

  // Files this case was sending when the tab closed or the page reloaded continue by themselves.
  stored("readonly", function (store) {
    return store.getAll();
  }).then(function (records) {
    (records || []).forEach(function (record) {
      if (!record || record.caseId !== caseId || !record.file) return;
      if (sending[storageKey(record.file)]) return;
      sending[storageKey(record.file)] = true;
      var item = new Item(record.file, record.docType, record.clinicalDate);
      pending += 1;
      queue.push(item);
    });
    drain();
  });

  input.addEventListener("change", function () {
    if (input.files && input.files.length) addFiles(input.files);
    input.value = "";
  });

  ["dragenter", "dragover"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.remove("dragging");
    });
  });
  dropzone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) addFiles(event.dataTransfer.files);
  });

  window.addEventListener("beforeunload", function (event) {
    if (pending > 0) {
      event.preventDefault();
      event.returnValue = plural(M.left, pending);
      return event.returnValue;
    }
    return undefined;
  });
})();
