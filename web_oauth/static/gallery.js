// CloudBox gallery: drag and drop, per-file progress and errors, copy buttons.
// Everything here is an enhancement: without it the same forms post normally.
(function () {
  "use strict";

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }

  each(".js-only", function (el) { el.hidden = false; });

  // Copy buttons: <button data-copy="input-id">.
  each("[data-copy]", function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById("copy-status");
      function done(ok) {
        if (status) status.textContent = ok ? "Link copied." : "Select the link and copy it.";
      }
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () { done(false); });
      } else {
        try { done(document.execCommand("copy")); } catch (e) { done(false); }
      }
    });
  });

  var form = document.getElementById("upload-form");
  if (!form) return;
  var input = document.getElementById("images");
  var zone = document.getElementById("drop-zone");
  var list = document.getElementById("upload-progress");
  var csrf = form.querySelector("input[name=csrf_token]").value;

  function row(file) {
    var li = document.createElement("li");
    var name = document.createElement("span");
    name.className = "file-name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Uploading " + file.name);
    var status = document.createElement("span");
    status.className = "file-status";
    status.textContent = "Waiting…";
    li.appendChild(name);
    li.appendChild(bar);
    li.appendChild(status);
    list.appendChild(li);
    return { li: li, bar: bar, status: status };
  }

  function send(file, ui) {
    return new Promise(function (resolve) {
      var data = new FormData();
      data.append("csrf_token", csrf);
      data.append("images", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) ui.bar.value = Math.round((e.loaded / e.total) * 100);
      });
      ui.status.textContent = "Uploading…";
      xhr.addEventListener("load", function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
        if (xhr.status >= 200 && xhr.status < 300 && body.ok) {
          ui.bar.value = 100;
          ui.li.className = "ok";
          ui.status.textContent = body.created ? "Uploaded" : "Already in your library";
          resolve(true);
        } else {
          ui.li.className = "error";
          ui.status.textContent = body.error || ("Failed (" + xhr.status + ")");
          resolve(false);
        }
      });
      xhr.addEventListener("error", function () {
        ui.li.className = "error";
        ui.status.textContent = "Network error; nothing was saved.";
        resolve(false);
      });
      xhr.send(data);
    });
  }

  function upload(files) {
    if (!files.length) return;
    list.innerHTML = "";
    var jobs = Array.prototype.map.call(files, function (file) { return { file: file, ui: row(file) }; });
    // Two at a time: quick for a handful of files, gentle on the server for many.
    var next = 0, okCount = 0;
    function worker() {
      if (next >= jobs.length) return Promise.resolve();
      var job = jobs[next++];
      return send(job.file, job.ui).then(function (ok) { if (ok) okCount++; return worker(); });
    }
    Promise.all([worker(), worker()]).then(function () {
      var done = document.createElement("li");
      done.className = "summary";
      var link = document.createElement("a");
      link.href = window.location.pathname;
      link.textContent = okCount + " of " + jobs.length + " uploaded — show them";
      done.appendChild(link);
      list.appendChild(done);
      input.value = "";
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    upload(input.files);
  });
  input.addEventListener("change", function () { upload(input.files); });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("dragging"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files) upload(e.dataTransfer.files);
  });
})();
