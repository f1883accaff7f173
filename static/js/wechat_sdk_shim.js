// weixin-js-sdk (static/vendor/weixin-js-sdk) ends with `module.exports = jWeixin`: give it an object to write to,
// so the SDK (which also sets window.wx) loads without a ReferenceError outside a bundler.
window.module = window.module || { exports: {} };
