extension WebAssets {
    /// The chat page's script (/static/app.js): WebSocket client with reconnect, streaming, safe text rendering.
    static let appJS = #"""
        // AuraWell chat page: one WebSocket per page (/ws/chat/{user}), the seed protocol of PROTOCOL.md.
        // Everything from the model, the server or the user is put on the page as text nodes
        // (textContent / createTextNode); a tiny Markdown subset (bold, headings, bullets) is built
        // from DOM nodes, never from HTML strings.
        (function () {
          'use strict';

          var ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
          var BACKOFF_BASE_MS = 500;
          var BACKOFF_MAX_MS = 30000;
          var BACKOFF_JITTER = 0.3;
          var SEND_TIMEOUT_MS = 15000;
          var MAX_MESSAGE_CHARS = 1000;
          var MAX_MESSAGES_SHOWN = 400;
          var STORAGE_USER = 'aurawell.user';

          function byId(id) { return document.getElementById(id); }
          var ui = {
            messages: byId('messages'),
            connection: byId('connection-status'),
            processing: byId('processing-status'),
            form: byId('input-area'),
            input: byId('message-input'),
            send: byId('send-btn'),
            stop: byId('stop-btn'),
            user: byId('user-id'),
            member: byId('member-input'),
            memberOptions: byId('member-options'),
            switchMember: byId('switch-member-btn'),
            activeMember: byId('active-member'),
            mood: byId('mood'),
            sleep: byId('sleep-hours'),
            activity: byId('activity-level')
          };

          // ---- small helpers -------------------------------------------------------------------------

          function storageGet(key) {
            try { return window.localStorage.getItem(key); } catch (e) { return null; }
          }
          function storageSet(key, value) {
            try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: not kept */ }
          }
          function randomToken(length) {
            var alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
            var bytes = new Uint8Array(length);
            if (window.crypto && window.crypto.getRandomValues) {
              window.crypto.getRandomValues(bytes);
            } else {
              for (var i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256);
            }
            var out = '';
            for (var j = 0; j < length; j++) out += alphabet.charAt(bytes[j] % alphabet.length);
            return out;
          }
          function characterCount(text) {
            var n = 0;
            for (var ch of text) { n += 1; } // code points, as the server counts
            return n;
          }

          // ---- identity and settings -----------------------------------------------------------------

          var params = new URLSearchParams(window.location.search);
          var token = params.get('token') || '';

          function initialUser() {
            var fromQuery = params.get('user');
            if (fromQuery && ID_PATTERN.test(fromQuery)) return fromQuery;
            var stored = storageGet(STORAGE_USER);
            if (stored && ID_PATTERN.test(stored)) return stored;
            var fresh = 'user_' + randomToken(6);
            storageSet(STORAGE_USER, fresh);
            return fresh;
          }

          var state = {
            userId: initialUser(),
            socket: null,
            connected: false,
            welcomed: false,
            everWelcomed: false,
            attempt: 0,
            reconnectTimer: null,
            countdownTimer: null,
            reconnectAt: 0,
            lastCloseNote: '',
            chat: null,
            lastCancelledId: null,
            activeMember: null,
            desiredMember: null,
            pendingSwitch: null,
            leaving: false
          };

          function memberStorageKey() { return 'aurawell.members.' + state.userId; }

          function knownMembers() {
            try {
              var list = JSON.parse(storageGet(memberStorageKey()) || '[]');
              return Array.isArray(list) ? list.filter(function (m) { return typeof m === 'string' && ID_PATTERN.test(m); }) : [];
            } catch (e) { return []; }
          }
          function rememberMember(id) {
            var list = knownMembers().filter(function (m) { return m !== id; });
            list.unshift(id);
            storageSet(memberStorageKey(), JSON.stringify(list.slice(0, 20)));
            refreshMemberOptions();
          }
          function refreshMemberOptions() {
            var frag = document.createDocumentFragment();
            var seen = {};
            [state.userId].concat(knownMembers()).forEach(function (id) {
              if (seen[id]) return;
              seen[id] = true;
              var option = document.createElement('option');
              option.value = id;
              frag.appendChild(option);
            });
            ui.memberOptions.replaceChildren(frag);
          }

          function readContext() {
            var context = {};
            if (ui.mood.value) context.mood = ui.mood.value;
            var sleepText = ui.sleep.value.trim();
            if (sleepText !== '') {
              var hours = Number(sleepText);
              if (isFinite(hours) && hours >= 0 && hours <= 24) context.sleep_hours = hours;
            }
            if (ui.activity.value) context.activity_level = ui.activity.value;
            return Object.keys(context).length ? context : null;
          }

          // ---- the message list ----------------------------------------------------------------------

          function nearBottom() {
            var m = ui.messages;
            return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
          }
          function scrollToBottom() { ui.messages.scrollTop = ui.messages.scrollHeight; }

          // Keep the newest message in view when the list shrinks (a phone's keyboard opening, rotation),
          // unless the reader has scrolled up.
          // Scroll events caused by the resize itself (the height already changed) do not count.
          var pinnedToBottom = true;
          var observedHeight = ui.messages.clientHeight;
          ui.messages.addEventListener('scroll', function () {
            if (ui.messages.clientHeight === observedHeight) pinnedToBottom = nearBottom();
          }, { passive: true });
          if (window.ResizeObserver) {
            new ResizeObserver(function () {
              observedHeight = ui.messages.clientHeight;
              if (pinnedToBottom) scrollToBottom();
            }).observe(ui.messages);
          }

          function addMessage(kind, text) {
            var stick = nearBottom();
            var element = document.createElement('div');
            element.className = 'message ' + kind;
            if (text !== undefined) element.textContent = text;
            ui.messages.appendChild(element);
            while (ui.messages.childElementCount > MAX_MESSAGES_SHOWN) ui.messages.removeChild(ui.messages.firstElementChild);
            if (stick || kind === 'user-message') scrollToBottom();
            return element;
          }
          function addSystem(text) { return addMessage('system-message', text); }
          function addError(text, code) {
            var element = addMessage('error-message');
            element.setAttribute('role', 'alert');
            element.appendChild(document.createTextNode(text || '出错了'));
            if (code) {
              element.dataset.errorCode = code;
              var small = document.createElement('span');
              small.className = 'error-code';
              small.textContent = code;
              element.appendChild(small);
            }
            return element;
          }

          // Inline Markdown subset: **bold**, "# heading" lines (bold), "- item"/"* item" bullets.
          // Line breaks are kept by CSS (white-space: pre-wrap).
          function appendInline(parent, line) {
            var parts = line.split('**');
            var balanced = parts.length % 2 === 1;
            for (var i = 0; i < parts.length; i++) {
              var part = parts[i];
              if (i % 2 === 1 && (balanced || i < parts.length - 1)) {
                if (part) {
                  var strong = document.createElement('strong');
                  strong.textContent = part;
                  parent.appendChild(strong);
                }
              } else {
                if (i % 2 === 1) part = '**' + part; // an unmatched marker (maybe still streaming)
                if (part) parent.appendChild(document.createTextNode(part));
              }
            }
          }
          function renderRich(target, text) {
            var frag = document.createDocumentFragment();
            var lines = text.split('\n');
            for (var i = 0; i < lines.length; i++) {
              var line = lines[i];
              if (i > 0) frag.appendChild(document.createTextNode('\n'));
              var heading = /^\s{0,3}#{1,6}\s+(.*)$/.exec(line);
              var bullet = /^(\s*)[-*]\s+(.*)$/.exec(line);
              if (heading) {
                var strong = document.createElement('strong');
                strong.className = 'md-heading';
                appendInline(strong, heading[1].replace(/\*\*/g, ''));
                frag.appendChild(strong);
              } else if (bullet) {
                frag.appendChild(document.createTextNode(bullet[1] + '• '));
                appendInline(frag, bullet[2]);
              } else {
                appendInline(frag, line);
              }
            }
            target.replaceChildren(frag);
          }

          // ---- status bar ----------------------------------------------------------------------------

          function setConnection(kind, text) {
            ui.connection.className = kind;
            ui.connection.textContent = text;
            ui.connection.title = kind === 'disconnected' ? '点击立即重连' : '';
          }
          function setProcessing(status, text, finishReason) {
            ui.processing.className = status || '';
            ui.processing.textContent = text || '';
            if (finishReason) ui.processing.dataset.finishReason = finishReason;
            else delete ui.processing.dataset.finishReason;
          }

          function updateControls() {
            var running = !!state.chat;
            ui.send.disabled = !state.connected || running;
            ui.stop.disabled = !state.connected || !running || state.chat.cancelling;
            ui.switchMember.disabled = !state.connected;
            document.body.classList.toggle('chat-running', running);
          }

          function setActiveMember(id) {
            state.activeMember = id;
            ui.activeMember.textContent = id || '—';
            ui.activeMember.title = id || '';
          }

          // ---- connection and reconnection -----------------------------------------------------------

          function socketURL() {
            var scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
            var url = scheme + '//' + window.location.host + '/ws/chat/' + encodeURIComponent(state.userId);
            if (token) url += '?token=' + encodeURIComponent(token);
            return url;
          }

          function clearReconnect() {
            if (state.reconnectTimer) clearTimeout(state.reconnectTimer);
            if (state.countdownTimer) clearInterval(state.countdownTimer);
            state.reconnectTimer = null;
            state.countdownTimer = null;
          }

          function connect() {
            clearReconnect();
            if (state.leaving) return;
            setConnection('connecting', state.everWelcomed ? '正在重新连接…' : '正在连接…');
            var ws;
            try {
              ws = new WebSocket(socketURL());
            } catch (e) {
              state.lastCloseNote = '无法建立连接';
              scheduleReconnect();
              return;
            }
            state.socket = ws;
            state.welcomed = false;
            ws.onopen = function () {
              if (ws !== state.socket) return;
              state.connected = true;
              setConnection('connected', '已连接');
              updateControls();
            };
            ws.onmessage = function (event) {
              if (ws !== state.socket) return;
              var message;
              try { message = JSON.parse(event.data); } catch (e) { return; }
              if (message && typeof message === 'object') handleMessage(message);
            };
            ws.onclose = function (event) {
              if (ws !== state.socket) return;
              state.socket = null;
              state.connected = false;
              state.pendingSwitch = null;
              interruptChat();
              updateControls();
              if (state.leaving) return;
              if (event.code === 1008 && event.reason) state.lastCloseNote = event.reason;
              else if (event.code === 1001) state.lastCloseNote = '服务器重启中';
              else if (event.code === 1009) state.lastCloseNote = '消息过大';
              scheduleReconnect();
            };
            ws.onerror = function () { /* a close event follows */ };
          }

          function scheduleReconnect() {
            clearReconnect();
            var base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, state.attempt));
            var delay = Math.max(100, Math.round(base * (1 + (Math.random() * 2 - 1) * BACKOFF_JITTER)));
            state.attempt += 1;
            state.reconnectAt = Date.now() + delay;
            state.reconnectTimer = setTimeout(connect, delay);
            state.countdownTimer = setInterval(showCountdown, 250);
            showCountdown();
          }

          function showCountdown() {
            var seconds = Math.max(1, Math.ceil((state.reconnectAt - Date.now()) / 1000));
            var note = state.lastCloseNote ? '（' + state.lastCloseNote + '）' : '';
            setConnection('disconnected', '连接断开' + note + '，' + seconds + ' 秒后重连…');
          }

          function reconnectNow() {
            var old = state.socket;
            state.socket = null;
            state.connected = false;
            state.pendingSwitch = null;
            if (old) {
              interruptChat();
              try { old.close(1000, 'reconnect'); } catch (e) { /* already closing */ }
            }
            state.attempt = 0;
            updateControls();
            connect();
          }

          // ---- chats ---------------------------------------------------------------------------------

          function newConversationId() { return 'conv_' + Date.now().toString(36) + '_' + randomToken(8); }

          function send(object) {
            var ws = state.socket;
            if (!ws || ws.readyState !== WebSocket.OPEN) {
              addError('尚未连接到服务器，请稍候再试', 'NOT_CONNECTED');
              return false;
            }
            ws.send(JSON.stringify(object));
            return true;
          }

          function sendChat() {
            var text = ui.input.value.trim();
            if (!text || state.chat || !state.connected) return;
            if (characterCount(text) > MAX_MESSAGE_CHARS) {
              addError('消息过长：最多 ' + MAX_MESSAGE_CHARS + ' 个字符', 'MESSAGE_TOO_LONG');
              return;
            }
            var id = newConversationId();
            var request = { type: 'health_chat', data: { message: text }, conversation_id: id };
            var context = readContext();
            if (context) request.data.context = context;
            if (!send(request)) return;
            addMessage('user-message', text);
            ui.input.value = '';
            autosize();
            var chat = { id: id, sawSending: false, element: null, body: null, text: '', renderPending: false, cancelling: false };
            chat.sendTimer = setTimeout(function () {
              if (state.chat === chat && !chat.sawSending) {
                addError('服务器没有响应这条消息，请重试', 'NO_RESPONSE');
                endChat('error', '未得到响应');
              }
            }, SEND_TIMEOUT_MS);
            state.chat = chat;
            setProcessing('sending', '正在发送…');
            updateControls();
          }

          function stopChat() {
            var chat = state.chat;
            if (!chat || chat.cancelling) return;
            chat.cancelling = true;
            state.lastCancelledId = chat.id;
            if (send({ type: 'cancel_chat', conversation_id: chat.id })) setProcessing(ui.processing.className, '正在停止…');
            updateControls();
          }

          function assistantElement(chat) {
            if (!chat.element) {
              chat.element = addMessage('assistant-message');
              chat.element.dataset.conversationId = chat.id;
              chat.body = document.createElement('div');
              chat.body.className = 'message-body';
              chat.element.appendChild(chat.body);
              chat.element.classList.add('streaming');
            }
            return chat.element;
          }

          function renderNow(chat) {
            chat.renderPending = false;
            if (!chat.body) return;
            var stick = nearBottom();
            renderRich(chat.body, chat.text);
            if (stick) scrollToBottom();
          }
          function scheduleRender(chat) {
            if (chat.renderPending) return;
            chat.renderPending = true;
            var fire = function () { if (chat.renderPending) renderNow(chat); };
            window.requestAnimationFrame(fire);
            setTimeout(fire, 100); // rAF does not run in hidden tabs
          }

          function addNote(chat, text, className) {
            var element = chat.element || assistantElement(chat);
            var note = document.createElement('div');
            note.className = 'message-note';
            note.textContent = text;
            element.appendChild(note);
            if (className) element.classList.add(className);
          }

          function endChat(status, text, finishReason) {
            var chat = state.chat;
            if (!chat) return;
            clearTimeout(chat.sendTimer);
            renderNow(chat);
            if (chat.element) chat.element.classList.remove('streaming');
            state.chat = null;
            setProcessing(status, text, finishReason);
            updateControls();
          }

          function finishChat(message) {
            var chat = state.chat;
            var reason = message.finish_reason || 'stop';
            var text;
            if (reason === 'cancelled') {
              text = '已停止生成';
              addNote(chat, '（已停止）', 'cancelled');
            } else if (reason === 'error') {
              text = '回答出错';
              if (chat.element) addNote(chat, '（回答未完成）', 'failed');
            } else if (reason === 'length') {
              text = '回答完成（达到长度上限）';
              addNote(chat, '（回答达到长度上限，已截断）', 'truncated');
            } else {
              text = '回答完成';
              if (!chat.element) addNote(chat, '（空回答）');
            }
            var usage = message.usage;
            if (usage && typeof usage.total_tokens === 'number') text += ' · ' + usage.total_tokens + ' tokens';
            endChat('done', text, reason);
          }

          function interruptChat() {
            var chat = state.chat;
            if (!chat) return;
            if (chat.element) addNote(chat, '（连接中断，回答未完成）', 'interrupted');
            else addError('连接中断，问题未得到回答，请重新发送', 'INTERRUPTED');
            endChat('interrupted', '对话已中断', 'interrupted');
          }

          // ---- members -------------------------------------------------------------------------------

          function switchMember() {
            var target = ui.member.value.trim();
            if (!target) { ui.member.focus(); return; }
            if (!ID_PATTERN.test(target)) {
              addError('成员 ID 只能包含字母、数字、_ . -（1 到 64 个字符）', 'INVALID_MEMBER_ID');
              return;
            }
            state.pendingSwitch = { target: target, restoring: false };
            send({ type: 'switch_member', data: { target_member_id: target } });
          }

          // ---- server messages -----------------------------------------------------------------------

          function handleMessage(message) {
            var chat = state.chat;
            switch (message.type) {
              case 'welcome':
                state.attempt = 0;
                state.lastCloseNote = '';
                state.welcomed = true;
                setActiveMember(typeof message.active_member_id === 'string' ? message.active_member_id : state.userId);
                if (!state.everWelcomed) {
                  addSystem(message.message || '欢迎使用AuraWell健康助手！');
                  if (message.provider === 'offline') addSystem('当前为离线模式：回答由本地健康顾问生成');
                } else {
                  addSystem('已重新连接');
                }
                state.everWelcomed = true;
                if (!state.connected) { state.connected = true; setConnection('connected', '已连接'); }
                if (state.desiredMember && state.desiredMember !== state.activeMember) {
                  state.pendingSwitch = { target: state.desiredMember, restoring: true };
                  send({ type: 'switch_member', data: { target_member_id: state.desiredMember } });
                }
                updateControls();
                break;

              case 'status_update':
                if (!chat || message.conversation_id !== chat.id) break;
                if (message.status === 'sending') {
                  chat.sawSending = true;
                  clearTimeout(chat.sendTimer);
                  if (!chat.cancelling) setProcessing('sending', message.message || '正在发送…');
                } else if (message.status === 'streaming') {
                  chat.sawSending = true;
                  clearTimeout(chat.sendTimer);
                  assistantElement(chat);
                  if (!chat.cancelling) setProcessing('streaming', message.message || '正在生成回答…');
                } else if (message.status === 'done') {
                  finishChat(message);
                }
                break;

              case 'chat_stream':
                if (!chat || message.conversation_id !== chat.id || typeof message.delta !== 'string') break;
                assistantElement(chat);
                chat.text += message.delta;
                scheduleRender(chat);
                break;

              case 'member_switched':
                var pending = state.pendingSwitch;
                state.pendingSwitch = null;
                setActiveMember(message.active_member_id);
                state.desiredMember = message.active_member_id === state.userId ? null : message.active_member_id;
                if (message.active_member_id) rememberMember(message.active_member_id);
                addSystem((pending && pending.restoring ? '已恢复家庭成员：' : '已切换到家庭成员：') + message.active_member_id);
                break;

              case 'error':
                handleError(message);
                break;

              default:
                break; // 'status' and anything newer: nothing to show
            }
          }

          function handleError(message) {
            var code = message.error_code || '';
            var chat = state.chat;
            // A late "nothing to cancel" after the chat already finished: not worth a red bubble.
            if (!chat && code === 'INVALID_MESSAGE' && message.conversation_id && message.conversation_id === state.lastCancelledId) return;
            addError(message.message, code);
            if (code === 'MEMBER_NOT_FOUND' && !message.conversation_id) {
              if (state.pendingSwitch && state.pendingSwitch.restoring) state.desiredMember = null;
              state.pendingSwitch = null;
              return;
            }
            // Refused before it started (no "sending" yet): the chat will not run, so no "done" follows.
            if (chat && !chat.sawSending && (!message.conversation_id || message.conversation_id === chat.id || code === 'CHAT_IN_PROGRESS')) {
              endChat('error', '未发送：' + (message.message || code), 'error');
            }
          }

          // ---- events --------------------------------------------------------------------------------

          function autosize() {
            ui.input.style.height = 'auto';
            ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 160) + 'px';
            ui.input.style.overflowY = ui.input.scrollHeight > 158 ? 'auto' : 'hidden';
          }

          ui.form.addEventListener('submit', function (event) { event.preventDefault(); sendChat(); });
          ui.input.addEventListener('keydown', function (event) {
            if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
              event.preventDefault();
              sendChat();
            }
          });
          ui.input.addEventListener('input', autosize);
          ui.stop.addEventListener('click', stopChat);
          ui.switchMember.addEventListener('click', switchMember);
          ui.member.addEventListener('keydown', function (event) {
            if (event.key === 'Enter' && !event.isComposing) { event.preventDefault(); switchMember(); }
          });

          function applyUser() {
            var value = ui.user.value.trim();
            if (value === state.userId) { ui.user.value = value; return; }
            if (!ID_PATTERN.test(value)) {
              addError('用户 ID 只能包含字母、数字、_ . -（1 到 64 个字符）', 'INVALID_USER_ID');
              ui.user.value = state.userId;
              return;
            }
            state.userId = value;
            storageSet(STORAGE_USER, value);
            if (params.has('user')) {
              params.set('user', value);
              try { window.history.replaceState(null, '', window.location.pathname + '?' + params.toString()); } catch (e) { /* ignore */ }
            }
            state.desiredMember = null;
            state.everWelcomed = false;
            setActiveMember(null);
            refreshMemberOptions();
            addSystem('切换用户：' + value);
            reconnectNow();
          }
          ui.user.addEventListener('change', applyUser);
          ui.user.addEventListener('keydown', function (event) {
            if (event.key === 'Enter' && !event.isComposing) { event.preventDefault(); applyUser(); }
          });

          ui.connection.addEventListener('click', function () {
            if (!state.socket) { state.attempt = 0; connect(); }
          });
          window.addEventListener('online', function () {
            if (!state.socket) { state.attempt = 0; connect(); }
          });
          window.addEventListener('pagehide', function () {
            state.leaving = true;
            clearReconnect();
            if (state.socket) { try { state.socket.close(1000, 'page closed'); } catch (e) { /* ignore */ } }
          });
          window.addEventListener('pageshow', function (event) {
            if (event.persisted) { state.leaving = false; reconnectNow(); }
          });

          // ---- start ---------------------------------------------------------------------------------

          // For tests: the renderer, to check on hostile input that it builds only text and <strong>.
          window.AuraWellChat = { renderRich: renderRich };

          ui.user.value = state.userId;
          refreshMemberOptions();
          updateControls();
          connect();
        })();
        """#
}
