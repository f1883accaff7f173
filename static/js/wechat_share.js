// Inside WeChat: configures the JS-SDK for this page (GET /api/v1/wechat/js-config) and sets the share card for
// "send to friend" and "moments" from the data attributes of [data-wechat-share] — the link carries the sharer's
// share code, so forwarded reads and registrations are attributed. [data-wechat-scan] buttons open WeChat's scanner
// and put the result where data-wechat-scan-target points (check-in, invitations).
(function () {
  "use strict";
  var card = document.querySelector("[data-wechat-share]");
  if (!card) { return; }
  var share = {
    title: card.dataset.title || document.title,
    desc: card.dataset.desc || "",
    link: card.dataset.link || window.location.href.split("#")[0],
    imgUrl: card.dataset.image || ""
  };
  var pageUrl = window.location.href.split("#")[0];
  fetch("/api/v1/wechat/js-config?url=" + encodeURIComponent(pageUrl), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("js-config " + response.status); }
      return response.json();
    })
    .then(function (config) {
      card.dataset.wechatConfig = "ok";
      card.dataset.shareLink = share.link;
      if (!window.wx) { return; }
      window.wx.config({
        debug: false, appId: config.appId, timestamp: config.timestamp, nonceStr: config.nonceStr,
        signature: config.signature,
        jsApiList: ["updateAppMessageShareData", "updateTimelineShareData", "scanQRCode"]
      });
      window.wx.ready(function () {
        window.wx.updateAppMessageShareData(share);
        window.wx.updateTimelineShareData({ title: share.title, link: share.link, imgUrl: share.imgUrl });
      });
    })
    .catch(function () {
      card.dataset.wechatConfig = "failed";
    });

  document.querySelectorAll("[data-wechat-scan]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      if (!window.wx) { return; }
      window.wx.scanQRCode({
        needResult: 1, scanType: ["qrCode"],
        success: function (result) {
          var target = document.querySelector(button.dataset.wechatScanTarget);
          if (target) {
            target.value = result.resultStr;
            if (target.form) { target.form.requestSubmit(); }
          }
        }
      });
    });
  });
})();
