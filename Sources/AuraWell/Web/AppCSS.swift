extension WebAssets {
    /// The chat page's styles (/static/app.css): flex layout, phone-friendly.
    static let appCSS = #"""
        :root {
          --accent: #0f766e;
          --accent-dark: #115e59;
          --accent-soft: #ccfbf1;
          --bg: #eef3f2;
          --panel: #ffffff;
          --line: #d5dedc;
          --text: #1f2a2e;
          --muted: #5f6f73;
          --error: #b42318;
          --error-soft: #fef3f2;
          --system-soft: #fff8e1;
          --radius: 12px;
          --touch: 44px;
          color-scheme: light;
        }

        *, *::before, *::after { box-sizing: border-box; }

        html, body { height: 100%; margin: 0; }

        body {
          background: var(--bg);
          color: var(--text);
          font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB",
            "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
            Roboto, "Helvetica Neue", Arial, sans-serif;
          font-size: 16px;
          line-height: 1.55;
          -webkit-text-size-adjust: 100%;
        }

        #chat-container {
          display: flex;
          flex-direction: column;
          height: 100vh;
          height: 100dvh;
          max-width: 860px;
          margin: 0 auto;
          background: var(--panel);
          border-left: 1px solid var(--line);
          border-right: 1px solid var(--line);
        }

        /* ---- header and settings ---- */

        #app-header {
          display: flex;
          align-items: center;
          justify-content: space-between;
          gap: 12px;
          padding: 10px 16px;
          padding-top: max(10px, env(safe-area-inset-top));
          background: var(--accent);
          color: #fff;
        }
        .brand { display: flex; align-items: center; gap: 10px; min-width: 0; }
        .logo {
          display: inline-flex; align-items: center; justify-content: center;
          width: 32px; height: 32px; flex: none;
          border-radius: 50%;
          background: #fff; color: var(--accent);
          font-weight: 700; font-size: 18px;
        }
        #app-header h1 { margin: 0; font-size: 18px; font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }

        .field { display: flex; align-items: center; gap: 6px; min-width: 0; }
        .field-label { font-size: 13px; color: var(--muted); white-space: nowrap; }
        #app-header .field-label { color: #d7f5ef; }

        input, select, textarea, button { font: inherit; color: inherit; }

        input[type="text"], input[type="number"], select, textarea {
          min-height: var(--touch);
          padding: 8px 10px;
          border: 1px solid var(--line);
          border-radius: 8px;
          background: #fff;
          color: var(--text);
          min-width: 0;
        }
        input:focus, select:focus, textarea:focus {
          outline: 2px solid var(--accent);
          outline-offset: 0;
          border-color: var(--accent);
        }

        #user-id { width: 11em; font-size: 15px; min-height: 36px; padding: 4px 8px; border-color: transparent; }

        #member-bar, #context-bar {
          display: flex;
          flex-wrap: wrap;
          align-items: center;
          gap: 8px 12px;
          padding: 8px 16px;
          border-bottom: 1px solid var(--line);
          background: #f7faf9;
        }
        .member-field { flex: 1 1 220px; }
        #member-input { flex: 1; width: 100%; }
        .active-member-wrap { font-size: 14px; color: var(--muted); white-space: nowrap; max-width: 100%; overflow: hidden; text-overflow: ellipsis; }
        #active-member { color: var(--accent-dark); }

        #context-bar .field { flex: 1 1 0; }
        #context-bar select, #context-bar input { flex: 1; width: 100%; }

        button {
          min-height: var(--touch);
          min-width: var(--touch);
          padding: 8px 16px;
          border: none;
          border-radius: 8px;
          background: var(--accent);
          color: #fff;
          font-weight: 600;
          cursor: pointer;
          touch-action: manipulation;
        }
        button:hover:not(:disabled) { background: var(--accent-dark); }
        button:focus-visible { outline: 3px solid #5eead4; outline-offset: 1px; }
        button:disabled { background: #c5cfcd; color: #f4f6f6; cursor: not-allowed; }
        button.secondary { background: #fff; color: var(--accent-dark); border: 1px solid var(--accent); }
        button.secondary:hover:not(:disabled) { background: var(--accent-soft); }
        button.secondary:disabled { background: #f2f4f4; color: #a3b0ae; border-color: #d5dedc; }

        /* ---- messages ---- */

        #messages {
          flex: 1 1 auto;
          min-height: 120px;
          overflow-y: auto;
          overscroll-behavior: contain;
          -webkit-overflow-scrolling: touch;
          display: flex;
          flex-direction: column;
          gap: 10px;
          padding: 16px;
          background: var(--bg);
        }

        .message {
          max-width: 85%;
          padding: 10px 14px;
          border-radius: var(--radius);
          white-space: pre-wrap;
          overflow-wrap: anywhere;
          word-break: break-word;
          box-shadow: 0 1px 2px rgba(16, 40, 40, 0.06);
        }
        .user-message {
          align-self: flex-end;
          background: var(--accent);
          color: #fff;
          border-bottom-right-radius: 4px;
        }
        .assistant-message {
          align-self: flex-start;
          background: var(--panel);
          border: 1px solid var(--line);
          border-bottom-left-radius: 4px;
        }
        .assistant-message.streaming .message-body::after {
          content: "▍";
          color: var(--accent);
          animation: blink 1s steps(2, start) infinite;
        }
        @keyframes blink { to { visibility: hidden; } }
        .message-body strong { font-weight: 700; }
        .message-body .md-heading { display: inline-block; margin-top: 4px; color: var(--accent-dark); }
        .message-note { margin-top: 6px; font-size: 13px; color: var(--muted); }
        .assistant-message.interrupted, .assistant-message.failed { border-color: #f4c7c3; }

        .system-message {
          align-self: center;
          max-width: 92%;
          padding: 6px 12px;
          background: var(--system-soft);
          color: #6b5a1e;
          font-size: 13px;
          text-align: center;
          box-shadow: none;
        }
        .error-message {
          align-self: center;
          max-width: 92%;
          background: var(--error-soft);
          color: var(--error);
          border: 1px solid #fecdca;
          font-size: 14px;
          text-align: center;
        }
        .error-code {
          display: inline-block;
          margin-left: 8px;
          padding: 0 6px;
          border-radius: 4px;
          background: #fee4e2;
          font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
          font-size: 12px;
        }

        /* ---- status bar ---- */

        #status-bar {
          display: flex;
          justify-content: space-between;
          align-items: center;
          gap: 12px;
          padding: 6px 16px;
          border-top: 1px solid var(--line);
          background: #f7faf9;
          font-size: 13px;
          min-height: 32px;
        }
        #connection-status::before, #processing-status:not(:empty)::before {
          content: "";
          display: inline-block;
          width: 8px; height: 8px;
          margin-right: 6px;
          border-radius: 50%;
          background: currentColor;
          vertical-align: 1px;
        }
        #connection-status.connected { color: #047857; }
        #connection-status.connecting { color: #b54708; }
        #connection-status.disconnected { color: var(--error); cursor: pointer; }
        #processing-status { color: var(--muted); text-align: right; }
        #processing-status.sending { color: #b54708; }
        #processing-status.streaming { color: #1d6fd6; }
        #processing-status.done { color: #047857; }
        #processing-status.error, #processing-status.interrupted { color: var(--error); }

        /* ---- input ---- */

        #input-area {
          display: flex;
          align-items: flex-end;
          gap: 8px;
          margin: 0;
          padding: 10px 16px;
          border-top: 1px solid var(--line);
          background: var(--panel);
        }
        #message-input {
          flex: 1;
          resize: none;
          overflow-y: hidden;
          max-height: 160px;
          line-height: 1.4;
        }
        #disclaimer {
          margin: 0;
          padding: 0 16px 8px;
          padding-bottom: max(8px, env(safe-area-inset-bottom));
          background: var(--panel);
          color: var(--muted);
          font-size: 12px;
          text-align: center;
        }

        /* ---- small screens ---- */

        @media (max-width: 560px) {
          #app-header { padding: 8px 12px; }
          #app-header h1 { font-size: 16px; }
          .user-field .field-label { display: none; }
          #user-id { width: 9.5em; }
          #member-bar, #context-bar { padding: 6px 12px; gap: 6px 8px; }
          .member-field .field-label { display: none; }
          #context-bar .field { flex-direction: column; align-items: stretch; gap: 2px; }
          #context-bar .field-label { font-size: 12px; }
          #messages { padding: 12px; }
          .message { max-width: 92%; }
          #status-bar { padding: 4px 12px; }
          #input-area { padding: 8px 12px; }
          #input-area button { padding: 8px 12px; }
        }

        @media (min-width: 900px) {
          body { padding: 16px 0; }
          #chat-container {
            height: calc(100vh - 32px);
            height: calc(100dvh - 32px);
            border: 1px solid var(--line);
            border-radius: 14px;
            overflow: hidden;
            box-shadow: 0 8px 30px rgba(16, 40, 40, 0.08);
          }
        }

        @media (prefers-reduced-motion: reduce) {
          .assistant-message.streaming .message-body::after { animation: none; }
        }
        """#
}
