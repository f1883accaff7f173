/* The live room: the connection shared by the doctor's page and the moderators' console (EngageLive.connect), and
 * the doctor's page itself (player, chat, Q&A, polls, reactions, heartbeats, "still there?").
 *
 * On (re)connect the page loads the HTTP snapshot, then applies the socket's events in id order: an id already seen
 * is ignored, a gap (or an event without id) loads the snapshot again. Frames that arrive while a snapshot loads are
 * kept and applied after it. Tallies (counts, reactions, scores) carry no id and are applied as they come. */
(function () {
  "use strict";

  var FINAL_CODES = {4401: "not_signed_in", 4403: "not_in_audience", 4404: "live_session_not_found",
                     4406: "not_registered", 4409: "replaced", 4410: "banned", 4411: "ended"};

  function csrfToken() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}}).then(function (r) {
      return r.json().then(function (body) { if (!r.ok) { body.status = r.status; throw body; } return body; });
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* connect(options) -> room. options: wsPath, api, onSnapshot(s), onEvent(frame), onTally(frame), onAnswer(frame),
   * onStatus(status, code, message). room.send(message) -> Promise of the answer (ok / error). */
  function connect(options) {
    var room = {lastId: 0, socket: null, loading: false, buffered: [], pending: {}, refs: 0, retry: 0,
                closedFor: null, userId: null};

    function status(kind, code, message) { if (options.onStatus) options.onStatus(kind, code, message); }

    function snapshot() {
      room.loading = true;
      return getJSON(options.api + "snapshot").then(function (s) {
        room.lastId = s.last_event_id || 0;
        room.loading = false;
        options.onSnapshot(s);
        var frames = room.buffered;
        room.buffered = [];
        frames.forEach(ordered);
      }).catch(function (error) {
        room.loading = false;
        status("error", error && error.code, error && error.message);
      });
    }
    room.resync = snapshot;

    function ordered(frame) {
      if (room.loading) { room.buffered.push(frame); return; }
      if (frame.id === null || frame.id === undefined) { snapshot(); return; }
      if (frame.id <= room.lastId) return;
      if (room.lastId && frame.id !== room.lastId + 1) { snapshot(); return; }
      room.lastId = frame.id;
      options.onEvent(frame);
    }

    function onMessage(event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "hello") {
        room.retry = 0;
        room.userId = frame.user_id;
        status("open", null, null, frame);
        snapshot();
      } else if (frame.type === "refused") {
        room.closedFor = frame.code;
        status("refused", frame.code, frame.message);
      } else if (frame.type === "tally") {
        if (options.onTally) options.onTally(frame);
      } else if (frame.type === "ok" || frame.type === "error" || frame.type === "pong" || frame.type === "viewers") {
        var waiting = room.pending[frame.ref];
        if (waiting) { delete room.pending[frame.ref]; waiting(frame); }
        else if (frame.type === "error" && options.onAnswer) options.onAnswer(frame);
      } else if ("id" in frame) {
        ordered(frame);
      }
    }

    function open() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + location.host + options.wsPath);
      room.socket = socket;
      room.closedFor = null;
      status("connecting");
      socket.addEventListener("message", onMessage);
      socket.addEventListener("close", function (event) {
        if (room.socket !== socket) return;
        room.socket = null;
        Object.keys(room.pending).forEach(function (ref) {
          room.pending[ref]({type: "error", code: "network", message: ""});
        });
        room.pending = {};
        var final = FINAL_CODES[event.code];
        if (final) { status("closed", final, null); return; }
        // Network loss, a dropped slow socket (4429) or a restarting server: back off, reconnect, resync.
        room.retry = Math.min(room.retry + 1, 6);
        var delay = Math.min(30000, 1000 * Math.pow(2, room.retry - 1)) * (0.75 + Math.random() / 2);
        status("reconnecting");
        setTimeout(open, delay);
      });
    }

    room.send = function (message) {
      return new Promise(function (resolve) {
        if (!room.socket || room.socket.readyState !== WebSocket.OPEN) {
          resolve({type: "error", code: "network", message: ""});
          return;
        }
        room.refs += 1;
        message.ref = "m" + room.refs;
        room.pending[message.ref] = resolve;
        room.socket.send(JSON.stringify(message));
      });
    };
    room.reconnect = function () { if (!room.socket) { room.retry = 0; open(); } };
    room.csrf = csrfToken;
    window.addEventListener("online", function () { room.reconnect(); });
    open();
    return room;
  }

  window.EngageLive = {connect: connect, el: el, getJSON: getJSON, csrfToken: csrfToken};

  // --- the doctor's page -------------------------------------------------------------------------------------------

  var root = document.querySelector("[data-live-room]");
  if (!root) return;
  var T = document.getElementById("live-i18n").dataset;
  var video = root.querySelector("video");
  var stateBox = root.querySelector("[data-testid=live-state]");
  var connBox = root.querySelector("[data-testid=live-conn]");
  var chatList = root.querySelector("[data-testid=chat-list]");
  var questionList = root.querySelector("[data-testid=question-list]");
  var pollList = root.querySelector("[data-testid=poll-list]");
  var viewersBox = root.querySelector("[data-testid=viewer-count]");
  var promptBox = root.querySelector("[data-testid=prompt]");
  var notice = root.querySelector("[data-testid=room-notice]");
  var questions = {};
  var polls = {};
  var order = "votes";
  var play = null;
  var hls = null;
  var source = null;
  var refreshTimer = null;
  var retryTimer = null;
  var sessionState = null;

  function say(text) {
    notice.textContent = text || "";
    notice.hidden = !text;
  }

  function errorText(answer) {
    return answer.message || T["error" + (answer.code || "")] || T.error;
  }

  // --- player -----------------------------------------------------------------------------------------------------

  // Native HLS where the browser says it plays it and is an Apple mobile one (WeChat and Safari on iOS), or where
  // hls.js cannot run (no Media Source Extensions); hls.js everywhere else (desktop Chromium claims "maybe").
  function nativeHls() {
    var says = !!video.canPlayType("application/vnd.apple.mpegurl");
    var apple = /iPhone|iPad|iPod/.test(navigator.userAgent);
    return says && (apple || !(window.Hls && window.Hls.isSupported()));
  }

  function detach() {
    if (hls) { hls.destroy(); hls = null; }
    video.removeAttribute("src");
    video.load();
    source = null;
  }

  function retryPlayback() {
    if (retryTimer) return;
    say(T.retrying);
    retryTimer = setTimeout(function () {
      retryTimer = null;
      EngageLive.getJSON(root.dataset.api + "play").then(function (fresh) { source = null; setPlay(fresh); })
        .catch(function () { retryPlayback(); });
    }, 3000);
  }

  function attach(url) {
    if (source === url) return;
    detach();
    source = url;
    video.loop = play && play.kind === "live";  // a real stream never ends; the demo clip loops
    if (nativeHls() || !(window.Hls && window.Hls.isSupported())) {
      video.src = url;
    } else {
      hls = new window.Hls({enableWorker: false, lowLatencyMode: false});
      hls.on(window.Hls.Events.ERROR, function (event, data) {
        if (!data.fatal) return;
        if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
        retryPlayback();
      });
      hls.loadSource(url);
      hls.attachMedia(video);
    }
    var playing = video.play();
    if (playing && playing.catch) playing.catch(function () { root.classList.add("live-needs-tap"); });
  }

  function scheduleRefresh(expiresAt) {
    if (refreshTimer) clearTimeout(refreshTimer);
    if (!expiresAt) return;
    // Fetch a fresh signed URL two minutes before expiry; the player switches to it on its next (re)load.
    var wait = Math.max(10000, new Date(expiresAt).getTime() - Date.now() - 120000);
    refreshTimer = setTimeout(function () {
      EngageLive.getJSON(root.dataset.api + "play").then(function (fresh) {
        play = fresh;
        scheduleRefresh(fresh.expires_at);
        if (video.error || video.paused) { source = null; setPlay(fresh); }
      }).catch(function () { scheduleRefresh(new Date(Date.now() + 180000).toISOString()); });
    }, wait);
  }

  function setPlay(next) {
    play = next;
    if (!next || !next.url) { detach(); return; }
    scheduleRefresh(next.expires_at);
    attach(next.url);
  }

  video.addEventListener("playing", function () { say(""); root.classList.remove("live-needs-tap"); });
  video.addEventListener("error", function () { if (play && play.url) retryPlayback(); });
  root.querySelector("[data-testid=unmute]").addEventListener("click", function () {
    video.muted = false;
    var playing = video.play();
    if (playing && playing.catch) playing.catch(function () { return null; });
  });

  function setState(session, mode) {
    sessionState = session.state;
    var key = session.state === "ended" ? (session.replay ? "replay" : "ended") : session.state;
    stateBox.dataset.state = key;
    stateBox.textContent = T["state" + key.charAt(0).toUpperCase() + key.slice(1)] || key;
    root.dataset.state = key;
    if (mode) root.dataset.mode = mode;
  }

  // --- chat -------------------------------------------------------------------------------------------------------

  function addMessage(message) {
    if (chatList.querySelector("[data-message-id='" + message.id + "']")) return;
    var item = el("li", "live-chat__item");
    item.dataset.messageId = message.id;
    item.appendChild(el("strong", "live-chat__author", message.author));
    item.appendChild(el("span", "live-chat__text", message.text));
    chatList.appendChild(item);
    while (chatList.children.length > 200) chatList.removeChild(chatList.firstChild);
    chatList.scrollTop = chatList.scrollHeight;
  }

  // --- questions --------------------------------------------------------------------------------------------------

  function renderQuestions() {
    var list = Object.keys(questions).map(function (id) { return questions[id]; });
    list.sort(function (a, b) {
      if (a.pinned !== b.pinned) return a.pinned ? -1 : 1;
      if (order === "votes" && a.score !== b.score) return b.score - a.score;
      return order === "time" ? (a.at < b.at ? 1 : -1) : (a.at < b.at ? -1 : 1);
    });
    questionList.textContent = "";
    list.forEach(function (q) {
      var item = el("li", "live-question" + (q.pinned ? " is-pinned" : ""));
      item.dataset.questionId = q.id;
      item.dataset.testid = "question";
      item.appendChild(el("p", "live-question__text", q.text));
      var meta = el("p", "live-question__meta", (q.author || T.anonymous) + (q.state === "answered" ? " · " + T.answered : ""));
      item.appendChild(meta);
      var vote = el("button", "weui-btn weui-btn_mini weui-btn_default live-question__vote", "▲ " + q.score);
      vote.type = "button";
      vote.disabled = !!q.voted;
      vote.dataset.testid = "question-vote";
      vote.addEventListener("click", function () {
        room.send({type: "vote", question_id: q.id}).then(function (answer) {
          if (answer.type === "error") { say(errorText(answer)); return; }
          q.voted = true;
          q.score += 1;
          renderQuestions();
        });
      });
      item.appendChild(vote);
      questionList.appendChild(item);
    });
  }

  function upsertQuestion(q) {
    if (q.state === "dismissed" || q.state === "pending") { delete questions[q.id]; }
    else { q.voted = q.voted || (questions[q.id] && questions[q.id].voted) || false; questions[q.id] = q; }
    renderQuestions();
  }

  // --- polls ------------------------------------------------------------------------------------------------------

  function renderPoll(poll) {
    var card = pollList.querySelector("[data-poll-id='" + poll.id + "']");
    if (poll.state === "draft") { if (card) card.remove(); return; }
    if (!card) {
      card = el("div", "engage-card live-poll");
      card.dataset.pollId = poll.id;
      card.dataset.testid = "poll";
      pollList.insertBefore(card, pollList.firstChild);
    }
    card.textContent = "";
    card.dataset.state = poll.state;
    card.appendChild(el("h3", "live-poll__question", poll.question));
    var voted = poll.my_choices && poll.my_choices.length;
    var form = el("form", "live-poll__form");
    poll.options.forEach(function (option) {
      var row = el("label", "live-poll__option");
      if (poll.state === "open" && !voted) {
        var input = el("input");
        input.type = poll.kind === "multiple" ? "checkbox" : "radio";
        input.name = "option";
        input.value = option.id;
        row.appendChild(input);
      }
      row.appendChild(el("span", "", option.text + (voted && poll.my_choices.indexOf(option.id) >= 0 ? " ✓" : "")));
      if (option.votes !== undefined) {
        var total = poll.voters || 0;
        var share = total ? Math.round(100 * option.votes / total) : 0;
        var bar = el("span", "live-poll__bar");
        bar.style.width = share + "%";
        var track = el("span", "live-poll__track");
        track.appendChild(bar);
        row.appendChild(track);
        var figure = el("span", "live-poll__result", option.votes + " · " + share + "%");
        figure.dataset.testid = "poll-result";
        figure.dataset.optionId = option.id;
        row.appendChild(figure);
      }
      form.appendChild(row);
    });
    if (poll.state === "open" && !voted) {
      var button = el("button", "weui-btn weui-btn_mini weui-btn_primary", T.vote);
      button.type = "submit";
      button.dataset.testid = "poll-vote";
      form.appendChild(button);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var ids = Array.prototype.map.call(form.querySelectorAll("input:checked"), function (i) { return +i.value; });
        if (!ids.length) { say(T.chooseOption); return; }
        room.send({type: "poll_vote", poll_id: poll.id, option_ids: ids}).then(function (answer) {
          if (answer.type === "error") { say(errorText(answer)); return; }
          poll.my_choices = ids;
          renderPoll(poll);
        });
      });
    } else if (voted) {
      card.appendChild(el("p", "live-poll__thanks", T.voted));
    }
    card.appendChild(form);
    polls[poll.id] = poll;
  }

  // --- the connection ---------------------------------------------------------------------------------------------

  function applyEvent(frame) {
    if (frame.type === "chat") addMessage(frame.message);
    else if (frame.type === "chat_deleted") {
      var gone = chatList.querySelector("[data-message-id='" + frame.message_id + "']");
      if (gone) gone.remove();
    } else if (frame.type === "question") upsertQuestion(frame.question);
    else if (frame.type === "question_removed") { delete questions[frame.question_id]; renderQuestions(); }
    else if (frame.type === "poll") {
      var known = polls[frame.poll.id];
      if (known && known.my_choices && !frame.poll.my_choices) frame.poll.my_choices = known.my_choices;
      renderPoll(frame.poll);
    } else if (frame.type === "state") {
      setState({state: frame.state, replay: frame.replay});
      EngageLive.getJSON(root.dataset.api + "play").then(function (fresh) { source = null; setPlay(fresh); });
    }
  }

  function applyTally(frame) {
    if (frame.viewers) viewersBox.textContent = frame.viewers.count;
    if (frame.question_score) {
      Object.keys(frame.question_score).forEach(function (id) {
        if (questions[id]) questions[id].score = frame.question_score[id];
      });
      renderQuestions();
    }
    if (frame.poll) {
      Object.keys(frame.poll).forEach(function (key) {
        var parts = key.split(":");
        var poll = polls[parts[0]];
        if (!poll) return;
        poll.options.forEach(function (o) { if (String(o.id) === parts[1]) o.votes = frame.poll[key]; });
        poll.voters = Math.max(poll.voters || 0, frame.poll[key]);
        renderPoll(poll);
      });
    }
    if (frame.reaction) {
      Object.keys(frame.reaction).forEach(function (emoji) {
        var burst = el("span", "live-burst", emoji + " ×" + frame.reaction[emoji]);
        root.querySelector("[data-testid=reaction-bursts]").appendChild(burst);
        setTimeout(function () { burst.remove(); }, 2500);
      });
    }
  }

  var room = connect({
    wsPath: root.dataset.ws,
    api: root.dataset.api,
    onSnapshot: function (s) {
      setState(s.session, s.mode);
      chatList.textContent = "";
      s.messages.forEach(addMessage);
      questions = {};
      s.questions.forEach(function (q) { questions[q.id] = q; });
      renderQuestions();
      pollList.textContent = "";
      polls = {};
      s.polls.forEach(renderPoll);
      viewersBox.textContent = s.counts.viewers;
      root.querySelector("[data-testid=chat-input]").disabled = !!s.muted;
      setPlay(s.play);
    },
    onEvent: applyEvent,
    onTally: applyTally,
    onAnswer: function (answer) { say(errorText(answer)); },
    onStatus: function (kind, code, message) {
      connBox.dataset.status = kind;
      if (kind === "open") { connBox.textContent = ""; say(""); }
      else if (kind === "reconnecting") connBox.textContent = T.reconnecting;
      else if (kind === "refused" || kind === "closed") {
        var text = message || T["closed_" + code] || T.error;
        root.querySelector("[data-testid=room-closed]").hidden = false;
        root.querySelector("[data-testid=room-closed-text]").textContent = text;
        root.querySelector("[data-testid=room-closed-again]").hidden = code !== "replaced";
        connBox.textContent = "";
      } else if (kind === "error") say(message || T.error);
    }
  });

  root.querySelector("[data-testid=room-closed-again]").addEventListener("click", function () {
    root.querySelector("[data-testid=room-closed]").hidden = true;
    room.reconnect();
  });

  root.querySelector("[data-testid=chat-form]").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = event.target.querySelector("input[name=text]");
    if (!input.value.trim()) return;
    room.send({type: "chat", text: input.value}).then(function (answer) {
      if (answer.type === "error") { say(errorText(answer)); return; }
      input.value = "";
    });
  });

  root.querySelector("[data-testid=question-form]").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var input = form.querySelector("textarea[name=text]");
    if (!input.value.trim()) return;
    room.send({type: "question", text: input.value, anonymous: form.querySelector("[name=anonymous]").checked})
      .then(function (answer) {
        if (answer.type === "error") { say(errorText(answer)); return; }
        input.value = "";
        say(root.dataset.moderated === "1" ? T.questionQueued : "");
      });
  });

  Array.prototype.forEach.call(root.querySelectorAll("[data-sort]"), function (button) {
    button.addEventListener("click", function () {
      order = button.dataset.sort;
      Array.prototype.forEach.call(root.querySelectorAll("[data-sort]"), function (b) {
        b.classList.toggle("weui-btn_primary", b === button);
      });
      renderQuestions();
    });
  });

  Array.prototype.forEach.call(root.querySelectorAll("[data-emoji]"), function (button) {
    button.addEventListener("click", function () { room.send({type: "reaction", emoji: button.dataset.emoji}); });
  });

  Array.prototype.forEach.call(root.querySelectorAll("[data-tab]"), function (tab) {
    tab.addEventListener("click", function () {
      Array.prototype.forEach.call(root.querySelectorAll("[data-tab]"), function (t) {
        t.classList.toggle("weui-bar__item_on", t === tab);
      });
      Array.prototype.forEach.call(root.querySelectorAll("[data-panel]"), function (panel) {
        panel.hidden = panel.dataset.panel !== tab.dataset.tab;
      });
    });
  });

  // Heartbeat every 30 s, only while the video plays in a visible tab; the answer may ask "still there?".
  setInterval(function () {
    if (video.paused || video.ended || video.readyState < 2 || document.visibilityState !== "visible") return;
    if (!play || !play.url) return;
    room.send({type: "heartbeat", mode: play.kind === "replay" ? "replay" : "live", position: video.currentTime})
      .then(function (answer) { if (answer.type === "ok" && answer.result && answer.result.prompt) promptBox.hidden = false; });
  }, 30000);

  promptBox.querySelector("button").addEventListener("click", function () {
    room.send({type: "prompt_answer"}).then(function (answer) {
      if (answer.type === "ok") promptBox.hidden = true; else say(errorText(answer));
    });
  });
})();
