// Inside WeChat: configures the JS-SDK for this page (GET /api/v1/wechat/js-config) with the APIs the page's
// [data-wechat-jssdk] elements ask for (data-wechat-apis), sets the share card for "send to friend" and "moments"
// from the data attributes of [data-wechat-share] — the link carries the sharer's share code, so forwarded reads and
// registrations are attributed — and lets [data-wechat-scan] buttons open WeChat's scanner (wx.scanQRCode). The
// scanned text goes to the element data-wechat-scan-target points at: as a cancelable "wechat-scan" event (the
// check-in scanner takes it into its camera flow), else as the field's value, submitting its form.
(function () {
  "use strict";
  if (window.engageWeChatJsSdk) { return; }  // one configuration per page, however many includes load this
  window.engageWeChatJsSdk = true;
  var nodes = Array.prototype.slice.call(document.querySelectorAll("[data-wechat-jssdk]"));
  if (!nodes.length) { return; }
  var apis = [];
  nodes.forEach(function (node) {
    (node.dataset.wechatApis || "").split(/\s+/).forEach(function (api) {
      if (api && apis.indexOf(api) < 0) { apis.push(api); }
    });
  });
  var card = document.querySelector("[data-wechat-share]");
  var share = card ? {
    title: card.dataset.title || document.title,
    desc: card.dataset.desc || "",
    link: card.dataset.link || window.location.href.split("#")[0],
    imgUrl: card.dataset.image || ""
  } : null;
  var pageUrl = window.location.href.split("#")[0];
  function mark(state) {
    nodes.forEach(function (node) { node.dataset.wechatConfig = state; });
  }
  fetch("/api/v1/wechat/js-config?url=" + encodeURIComponent(pageUrl), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("js-config " + response.status); }
      return response.json();
    })
    .then(function (config) {
      nodes.forEach(function (node) { node.dataset.jsApiList = apis.join(" "); });
      if (card) { card.dataset.shareLink = share.link; }
      mark("ok");
      if (!window.wx) { return; }
      window.wx.config({
        debug: false, appId: config.appId, timestamp: config.timestamp, nonceStr: config.nonceStr,
        signature: config.signature, jsApiList: apis
      });
      window.wx.ready(function () {
        if (!share) { return; }
        window.wx.updateAppMessageShareData(share);
        window.wx.updateTimelineShareData({ title: share.title, link: share.link, imgUrl: share.imgUrl });
      });
    })
    .catch(function () {
      mark("failed");
    });

  document.querySelectorAll("[data-wechat-scan]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      if (!window.wx) { return; }
      window.wx.scanQRCode({
        needResult: 1, scanType: ["qrCode"],
        success: function (result) {
          var target = document.querySelector(button.dataset.wechatScanTarget);
          if (!target) { return; }
          var taken = !target.dispatchEvent(new CustomEvent("wechat-scan", {
            detail: result.resultStr, bubbles: true, cancelable: true
          }));
          if (!taken) {
            target.value = result.resultStr;
            if (target.form) { target.form.requestSubmit(); }
          }
        }
      });
    });
  });
})();
