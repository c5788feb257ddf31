extension WebAssets {
    /// The chat page (GET /): the seed UI's ids and classes, a member switcher, context fields and a stop button.
    static let indexHTML = #"""
        <!doctype html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
        <meta name="theme-color" content="#0f766e">
        <meta name="referrer" content="no-referrer">
        <title>AuraWell 健康助手</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/static/app.css">
        </head>
        <body>
        <div id="chat-container">
          <header id="app-header">
            <div class="brand">
              <span class="logo" aria-hidden="true">✚</span>
              <h1>AuraWell 健康助手</h1>
            </div>
            <label class="field user-field" for="user-id">
              <span class="field-label">用户</span>
              <input type="text" id="user-id" autocomplete="off" autocapitalize="off" spellcheck="false"
                     maxlength="64" title="字母、数字、_ . -，最多 64 个字符">
            </label>
          </header>

          <section id="member-bar" aria-label="家庭成员">
            <label class="field member-field" for="member-input">
              <span class="field-label">家庭成员</span>
              <input type="text" id="member-input" list="member-options" autocomplete="off" autocapitalize="off"
                     spellcheck="false" maxlength="64" placeholder="成员 ID，如 grandma">
            </label>
            <datalist id="member-options"></datalist>
            <button type="button" id="switch-member-btn" class="secondary">切换</button>
            <span class="active-member-wrap">当前：<strong id="active-member">—</strong></span>
          </section>

          <section id="context-bar" aria-label="今日状态">
            <label class="field" for="mood">
              <span class="field-label">心情</span>
              <select id="mood">
                <option value="">未填</option>
                <option value="happy">愉快</option>
                <option value="calm">平静</option>
                <option value="tired">疲惫</option>
                <option value="anxious">焦虑</option>
                <option value="stressed">压力大</option>
                <option value="sad">低落</option>
              </select>
            </label>
            <label class="field" for="sleep-hours">
              <span class="field-label">睡眠(小时)</span>
              <input type="number" id="sleep-hours" min="0" max="24" step="0.5" inputmode="decimal" placeholder="如 7">
            </label>
            <label class="field" for="activity-level">
              <span class="field-label">活动量</span>
              <select id="activity-level">
                <option value="">未填</option>
                <option value="low">低</option>
                <option value="moderate">中等</option>
                <option value="high">高</option>
              </select>
            </label>
          </section>

          <main id="messages" role="log" aria-live="polite" aria-relevant="additions"></main>

          <div id="status-bar">
            <span id="connection-status" class="connecting" role="status">正在连接…</span>
            <span id="processing-status" role="status"></span>
          </div>

          <form id="input-area" autocomplete="off">
            <textarea id="message-input" rows="1" maxlength="1000" enterkeyhint="send"
                      placeholder="输入您的健康问题…" title="Enter 发送，Shift+Enter 换行" aria-label="输入您的健康问题"></textarea>
            <button type="button" id="stop-btn" class="secondary" disabled>停止</button>
            <button type="submit" id="send-btn" disabled>发送</button>
          </form>
          <p id="disclaimer">AI 建议仅供参考，不能替代医生的诊断与治疗。如有紧急情况请立即就医或拨打 120。</p>
        </div>
        <script src="/static/app.js"></script>
        </body>
        </html>
        """#
}
