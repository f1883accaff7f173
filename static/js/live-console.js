/* The moderators' console: video state, go live / end, the push URL for OBS, the question queue (approve, dismiss,
 * pin, answered), chat with delete / mute / ban, polls (create, open, close, show results) with live results, the
 * viewer count and list. Uses the room connection of live-room.js (EngageLive.connect): snapshot + ordered events. */
(function () {
  "use strict";
  var root = document.querySelector("[data-live-console]");
  if (!root || !window.EngageLive) return;
  var el = EngageLive.el;
  var T = document.getElementById("live-i18n").dataset;
  var LABELS = JSON.parse(document.getElementById("live-state-labels").textContent);
  function label(kind, code) { return (LABELS[kind] || {})[code] || code; }
  var notice = document.querySelector("[data-testid=console-notice]");
  var chat = root.querySelector("[data-testid=console-chat]");
  var queue = root.querySelector("[data-testid=queue-list]");
  var shown = root.querySelector("[data-testid=console-questions]");
  var pollBox = root.querySelector("[data-testid=console-polls]");
  var video = root.querySelector("video");
  var questions = {};
  var polls = {};
  var hls = null;
  var source = null;

  function say(text) { notice.textContent = text || ""; notice.hidden = !text; }

  function act(message) {
    return room.send(message).then(function (answer) {
      if (answer.type === "error") say(answer.message || T.error); else say("");
      return answer;
    });
  }

  function button(label, handler, testid) {
    var b = el("button", "weui-btn weui-btn_mini weui-btn_default", label);
    b.type = "button";
    if (testid) b.dataset.testid = testid;
    b.addEventListener("click", handler);
    return b;
  }

  function setState(state) {
    var box = root.querySelector("[data-testid=console-state]");
    box.dataset.state = state;
    box.textContent = T["state" + state.charAt(0).toUpperCase() + state.slice(1)] || state;
  }

  function setPlay(play) {
    if (!play || !play.url || source === play.url) return;
    source = play.url;
    if (hls) { hls.destroy(); hls = null; }
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls({enableWorker: false});
      hls.loadSource(play.url);
      hls.attachMedia(video);
    } else {
      video.src = play.url;
    }
    video.loop = play.kind === "live";
    var playing = video.play();
    if (playing && playing.catch) playing.catch(function () { return null; });
  }

  // --- chat -------------------------------------------------------------------------------------------------------

  function addMessage(m) {
    var item = chat.querySelector("[data-message-id='" + m.id + "']");
    if (item) { item.classList.toggle("is-deleted", !!m.deleted); return; }
    item = el("li", "live-chat__item" + (m.deleted ? " is-deleted" : ""));
    item.dataset.messageId = m.id;
    item.appendChild(el("strong", "live-chat__author", m.author));
    item.appendChild(el("span", "live-chat__text", m.text));
    if (m.pv_case) item.appendChild(el("span", "live-pv", " ⚠ PV"));
    var actions = el("div", "live-actions");
    actions.appendChild(button(T["delete"], function () { act({type: "delete", message_id: m.id}); }, "chat-delete"));
    if (m.author_id) {
      actions.appendChild(button(T.mute, function () { act({type: "mute", user_id: m.author_id}); }, "chat-mute"));
      actions.appendChild(button(T.ban, function () {
        if (window.confirm(T.confirmBan)) act({type: "ban", user_id: m.author_id});
      }, "chat-ban"));
    }
    item.appendChild(actions);
    chat.appendChild(item);
    while (chat.children.length > 300) chat.removeChild(chat.firstChild);
    chat.scrollTop = chat.scrollHeight;
  }

  // --- questions --------------------------------------------------------------------------------------------------

  function renderQuestions() {
    queue.textContent = "";
    shown.textContent = "";
    Object.keys(questions).map(function (id) { return questions[id]; })
      .sort(function (a, b) { return (b.pinned - a.pinned) || (b.score - a.score) || (a.id - b.id); })
      .forEach(function (q) {
        var item = el("li", "live-question" + (q.pinned ? " is-pinned" : ""));
        item.dataset.questionId = q.id;
        item.dataset.testid = q.state === "pending" ? "queued-question" : "shown-question";
        item.appendChild(el("p", "live-question__text", q.text));
        item.appendChild(el("p", "live-question__meta", (q.author || "") + (q.anonymous ? " (" + T.anonymous + ")" : "") +
          " · ▲ " + q.score + " · " + label("question", q.state) + (q.pv_case ? " · ⚠ PV" : "")));
        var actions = el("div", "live-actions");
        function moderate(action) { return function () { act({type: action, question_id: q.id}); }; }
        if (q.state === "pending") actions.appendChild(button(T.approve, moderate("approve"), "question-approve"));
        if (q.state !== "dismissed") actions.appendChild(button(T.dismiss, moderate("dismiss"), "question-dismiss"));
        if (q.state !== "pending") {
          actions.appendChild(button(q.pinned ? T.unpin : T.pin, moderate(q.pinned ? "unpin" : "pin"), "question-pin"));
          if (q.state !== "answered") actions.appendChild(button(T.answered, moderate("answered"), "question-answered"));
        }
        item.appendChild(actions);
        (q.state === "pending" ? queue : shown).appendChild(item);
      });
  }

  function upsertQuestion(q) {
    if (q.state === "dismissed") delete questions[q.id]; else questions[q.id] = q;
    renderQuestions();
  }

  // --- polls ------------------------------------------------------------------------------------------------------

  function renderPoll(poll) {
    polls[poll.id] = poll;
    var card = pollBox.querySelector("[data-poll-id='" + poll.id + "']");
    if (!card) {
      card = el("div", "live-poll");
      card.dataset.pollId = poll.id;
      card.dataset.testid = "console-poll";
      pollBox.insertBefore(card, pollBox.firstChild);
    }
    card.textContent = "";
    card.dataset.state = poll.state;
    card.appendChild(el("h3", "live-poll__question", poll.question + " · " + label("poll", poll.state)));
    var total = poll.voters || 0;
    poll.options.forEach(function (o) {
      var votes = o.votes || 0;
      var row = el("div", "live-poll__option");
      row.appendChild(el("span", "", o.text));
      var bar = el("span", "live-poll__bar");
      bar.style.width = (total ? Math.round(100 * votes / total) : 0) + "%";
      var track = el("span", "live-poll__track");
      track.appendChild(bar);
      row.appendChild(track);
      var figure = el("span", "live-poll__result", String(votes));
      figure.dataset.testid = "console-poll-result";
      row.appendChild(figure);
      card.appendChild(row);
    });
    card.appendChild(el("p", "live-question__meta", total + " " + T.voters));
    var actions = el("div", "live-actions");
    if (poll.state === "draft") actions.appendChild(button(T.open, function () { act({type: "poll_open", poll_id: poll.id}); }, "poll-open"));
    if (poll.state === "open") actions.appendChild(button(T.close, function () { act({type: "poll_close", poll_id: poll.id}); }, "poll-close"));
    actions.appendChild(button(poll.results_shown ? T.hide : T.show, function () {
      act({type: "poll_results", poll_id: poll.id, shown: !poll.results_shown});
    }, "poll-show"));
    card.appendChild(actions);
  }

  // --- the connection ---------------------------------------------------------------------------------------------

  var room = EngageLive.connect({
    wsPath: root.dataset.ws,
    api: root.dataset.api,
    onSnapshot: function (s) {
      setState(s.session.state);
      chat.textContent = "";
      s.messages.forEach(addMessage);
      questions = {};
      s.questions.concat(s.queue || []).forEach(function (q) { questions[q.id] = q; });
      renderQuestions();
      pollBox.textContent = "";
      s.polls.forEach(renderPoll);
      root.querySelector("[data-testid=console-viewers]").textContent = s.counts.viewers;
      setPlay(s.play);
    },
    onEvent: function (f) {
      if (f.type === "chat") addMessage(f.message);
      else if (f.type === "chat_deleted") {
        var gone = chat.querySelector("[data-message-id='" + f.message_id + "']");
        if (gone) gone.classList.add("is-deleted");
      } else if (f.type === "question") upsertQuestion(f.question);
      else if (f.type === "question_removed") { delete questions[f.question_id]; renderQuestions(); }
      else if (f.type === "poll") {
        var known = polls[f.poll.id];
        if (known && f.poll.options.length && f.poll.options[0].votes === undefined) {
          f.poll.options.forEach(function (o, i) { o.votes = known.options[i] && known.options[i].votes; });
          f.poll.voters = known.voters;
        }
        renderPoll(f.poll);
      } else if (f.type === "state") {
        setState(f.state);
        EngageLive.getJSON(root.dataset.api + "play").then(setPlay);
      } else if (f.type === "sanction") say(f.kind + " · " + f.user_id + (f.active ? "" : " ✕"));
    },
    onTally: function (f) {
      if (f.viewers) root.querySelector("[data-testid=console-viewers]").textContent = f.viewers.count;
      if (f.question_score) Object.keys(f.question_score).forEach(function (id) {
        if (questions[id]) questions[id].score = f.question_score[id];
      });
      if (f.question_score) renderQuestions();
      if (f.poll) {
        var touched = {};
        Object.keys(f.poll).forEach(function (key) {
          var parts = key.split(":");
          var poll = polls[parts[0]];
          if (!poll) return;
          poll.options.forEach(function (o) { if (String(o.id) === parts[1]) o.votes = f.poll[key]; });
          touched[parts[0]] = poll;
        });
        Object.keys(touched).forEach(function (id) {
          var poll = touched[id];
          // one vote per person: a single-choice poll's voters are the sum of its counts
          var sum = poll.options.reduce(function (n, o) { return n + (o.votes || 0); }, 0);
          poll.voters = poll.kind === "single" ? sum : Math.max(poll.voters || 0, sum ? 1 : 0);
          renderPoll(poll);
        });
      }
    },
    onAnswer: function (answer) { say(answer.message || T.error); },
    onStatus: function (kind, code, message) {
      var conn = root.querySelector("[data-testid=console-conn]");
      conn.dataset.status = kind;
      conn.textContent = kind === "reconnecting" ? T.reconnecting : "";
      if (kind === "refused" || kind === "closed") say(message || code);
    }
  });

  Array.prototype.forEach.call(root.querySelectorAll("[data-state-action]"), function (b) {
    b.addEventListener("click", function () {
      if (b.dataset.stateAction === "ended" && !window.confirm(T.confirmEnd)) return;
      act({type: "state", state: b.dataset.stateAction});
    });
  });

  root.querySelector("[data-testid=show-push]").addEventListener("click", function () {
    var box = root.querySelector("[data-testid=push-url]");
    EngageLive.getJSON(root.dataset.api + "push").then(function (push) {
      box.hidden = false;
      box.textContent = push.url + (push.expires_at ? "  (" + push.expires_at + ")" : "");
    }).catch(function (error) { say((error && error.message) || T.error); });
  });

  root.querySelector("[data-testid=load-viewers]").addEventListener("click", function () {
    room.send({type: "viewers"}).then(function (answer) {
      var list = root.querySelector("[data-testid=viewer-list]");
      list.textContent = "";
      (answer.viewers || []).forEach(function (v) {
        var item = el("li", "", v.name + " ");
        item.appendChild(button(T.mute, function () { act({type: "mute", user_id: v.id}); }));
        list.appendChild(item);
      });
    });
  });

  root.querySelector("[data-testid=poll-form]").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var options = form.elements.options.value.split("\n").map(function (s) { return s.trim(); })
      .filter(function (s) { return s; });
    act({type: "poll_create", question: form.elements.question.value, options: options,
         kind: form.elements.multiple.checked ? "multiple" : "single"}).then(function (answer) {
      if (answer.type === "ok") form.reset();
    });
  });

  root.querySelector("[data-testid=console-chat-form]").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = event.target.elements.text;
    act({type: "chat", text: input.value}).then(function (answer) { if (answer.type === "ok") input.value = ""; });
  });
})();
