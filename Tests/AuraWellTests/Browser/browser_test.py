#!/usr/bin/env python3
"""AuraWell's chat page in a real browser: headless Chromium driven by Selenium.

    browser_test.py URL SIM_PORT SCREENSHOT_PATH [--no-restart]

URL is the gateway (e.g. http://127.0.0.1:8000), whose upstream is the simulator listening on
SIM_PORT (its /_sim/requests log is read to compare what the page shows with what was streamed).
The family member `grandma` (name 奶奶) of user `browser_user` must exist.

Server restarts are asked of whoever runs this script: it prints a line `RESTART` (graceful:
SIGTERM, then a new gateway on the same port) or `RESTART kill` (SIGKILL, a crash), and waits
for a line `READY` on stdin. With --no-restart those checks are skipped.

Prints one `PASS name` / `FAIL name: why` line per check and `N passed, M failed` at the end;
exits 0 only when every check passed. A desktop screenshot goes to SCREENSHOT_PATH (checked not
to be blank), a phone-sized one beside it (`…-phone.png`).
"""
import io
import json
import os
import re
import select
import shutil
import signal
import sys
import time
import traceback
import urllib.request

from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

USER = "browser_user"
PAGE_IDS = ["chat-container", "messages", "status-bar", "connection-status", "processing-status", "input-area",
            "message-input", "send-btn", "stop-btn", "user-id", "member-input", "switch-member-btn",
            "active-member", "mood", "sleep-hours", "activity-level"]


def pixels(image):
    """The image's pixels as a list (Pillow 12+ names it get_flattened_data)."""
    return list(getattr(image, "get_flattened_data", image.getdata)())


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def wait_until(description, predicate, timeout=10.0, interval=0.05):
    """Polls predicate until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except WebDriverException as error:  # a stale element mid-update: try again
            last = type(error).__name__
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout:.0f}s waiting for {description} (last: {last!r})")
        time.sleep(interval)


def say(line):
    print(line, flush=True)


class BrowserTest:
    def __init__(self, url, sim_port, screenshot, restarts):
        self.url = url.rstrip("/")
        self.sim_port = sim_port
        self.screenshot = screenshot
        self.phone_screenshot = re.sub(r"(\.png)?$", "-phone.png", screenshot, count=1)
        self.restarts = restarts
        self.driver = None
        self.baseline = None
        self.answers_before = 0
        self.passed = 0
        self.failed = 0

    # ---- plumbing ---------------------------------------------------------------------------

    def start_browser(self):
        chrome = os.environ.get("CHROME_BIN") or shutil.which("chromium") or shutil.which("chromium-browser") \
            or shutil.which("google-chrome")
        driver_path = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
        if not chrome or not driver_path:
            raise CheckFailed(f"chromium ({chrome}) and chromedriver ({driver_path}) are needed: apt-get install chromium chromium-driver")
        options = webdriver.ChromeOptions()
        options.binary_location = chrome
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1280,800", "--force-device-scale-factor=1", "--lang=zh-CN",
                         "--no-first-run", "--disable-extensions", "--disable-background-networking",
                         "--disable-renderer-backgrounding", "--disable-background-timer-throttling"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # An explicit driver path: Selenium Manager never goes to the network.
        service = Service(executable_path=driver_path, log_output=os.devnull)
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(20)
        self.driver.set_script_timeout(10)
        # The window's size includes what headless Chromium counts as browser UI: make the
        # viewport itself 1280×800.
        inner = self.js("return [window.innerWidth, window.innerHeight]")
        self.driver.set_window_size(1280 + 1280 - inner[0], 800 + 800 - inner[1])

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def element(self, element_id):
        return self.driver.find_element(By.ID, element_id)

    def connection(self):
        return self.js("var e = document.getElementById('connection-status'); return [e.className, e.textContent]")

    def processing(self):
        return self.js("var e = document.getElementById('processing-status');"
                       "return [e.className, e.textContent, e.dataset.finishReason || null]")

    def answer_text(self):
        """The text of the answer to the last question sent (its message body), or None before it appears."""
        return self.js("var m = document.querySelectorAll('#messages .assistant-message .message-body');"
                       "return m.length > arguments[0] ? m[m.length - 1].textContent : null", self.answers_before)

    def count(self, selector):
        return self.js("return document.querySelectorAll(arguments[0]).length", selector)

    def buttons(self):
        return self.js("return [document.getElementById('send-btn').disabled, document.getElementById('stop-btn').disabled]")

    def upstream(self, request_id):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.sim_port}/_sim/requests?id={request_id}", timeout=5) as reply:
            records = json.loads(reply.read())
        return records[-1] if records else None

    def wait_connected(self, timeout=10):
        return wait_until("the connection status 已连接",
                          lambda: self.connection()[0] == "connected" and self.connection()[1] == "已连接", timeout)

    def type_question(self, text, enter=True):
        wait_until("the send button enabled (no chat running)", lambda: self.buttons()[0] is False, 15)
        self.answers_before = self.count("#messages .assistant-message .message-body")
        box = self.element("message-input")
        box.clear()
        box.send_keys(text)
        if enter:
            box.send_keys(Keys.ENTER)
        else:
            self.element("send-btn").click()

    def wait_done(self, timeout=15):
        return wait_until("the processing status done", lambda: self.processing()[0] == "done" and self.processing(), timeout)

    def restart_gateway(self, mode=""):
        """Asks the runner to restart the gateway on the same port; waits for READY."""
        say("RESTART" + (f" {mode}" if mode else ""))
        ready, _, _ = select.select([sys.stdin], [], [], 30)
        expect(ready, "no READY on stdin within 30 s after RESTART")
        line = sys.stdin.readline().strip()
        expect(line == "READY", f"expected READY on stdin, got {line!r}")

    def mark_connection_log(self):
        return self.js("return window.__connLog.length")

    def connection_log(self, since):
        return self.js("return window.__connLog.slice(arguments[0])", since)

    def run(self, name, check):
        started = time.monotonic()
        try:
            note = check()
            self.passed += 1
            say(f"PASS {name} ({time.monotonic() - started:.1f}s)" + (f": {note}" if note else ""))
            return True
        except Exception as error:  # every failure is a line, and the next check still runs
            self.failed += 1
            detail = str(error) if isinstance(error, CheckFailed) else f"{type(error).__name__}: {error}"
            say(f"FAIL {name}: {detail}")
            if not isinstance(error, CheckFailed):
                traceback.print_exc(file=sys.stdout)
            return False

    # ---- the checks -------------------------------------------------------------------------

    def page_loads_and_connects(self):
        self.driver.get(f"{self.url}/?user={USER}")
        expect("AuraWell" in self.driver.title, f"title {self.driver.title!r}")
        missing = [i for i in PAGE_IDS if not self.driver.find_elements(By.ID, i)]
        expect(not missing, f"elements missing: {missing}")
        assets = self.js("return [Array.from(document.scripts).map(s => s.getAttribute('src')),"
                         " Array.from(document.querySelectorAll('link[rel=stylesheet]')).map(l => l.getAttribute('href')),"
                         " getComputedStyle(document.getElementById('chat-container')).display,"
                         " typeof window.AuraWellChat]")
        expect(assets[0] == ["/static/app.js"] and assets[1] == ["/static/app.css"], f"assets {assets[:2]}")
        expect(assets[2] == "flex" and assets[3] == "object", f"stylesheet or script not applied: {assets[2:]}")
        # Every change of the connection status, from now on (the restarts look at it).
        self.js("""
            window.__connLog = [];
            var e = document.getElementById('connection-status');
            var record = function () { window.__connLog.push([Date.now(), e.className, e.textContent]); };
            record();
            new MutationObserver(record).observe(e, {attributes: true, childList: true, characterData: true, subtree: true});
        """)
        self.wait_connected()
        expect(self.element("user-id").get_attribute("value") == USER, "the user id field does not show ?user=")
        wait_until("the welcome message", lambda: self.count("#messages .system-message") >= 1, 5)
        wait_until("the active member from welcome", lambda: self.element("active-member").text == USER, 5)
        expect(self.buttons() == [False, True], f"idle: send should be enabled, stop disabled; got {self.buttons()}")
        self.baseline = self.driver.get_screenshot_as_png()

    def streamed_answer_grows(self):
        question = "最近睡不好，有什么建议？ SIM[tokens=40,interval_ms=50,id=bt-grow]"
        self.type_question(question)
        send_disabled, stop_disabled = self.buttons()
        expect(send_disabled, "the send button is enabled right after sending")
        expect(self.element("message-input").get_attribute("value") == "", "the input was not cleared")
        samples = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            # One script, so the status, the text and the buttons are seen at the same moment.
            sample = tuple(self.js("""
                var m = document.querySelectorAll('#messages .assistant-message .message-body');
                var text = m.length > arguments[0] ? m[m.length - 1].textContent : '';
                return [text.length, document.getElementById('processing-status').className,
                        document.getElementById('send-btn').disabled, document.getElementById('stop-btn').disabled];
            """, self.answers_before))
            samples.append(sample)
            if sample[1] == "done":
                break
            time.sleep(0.1)
        lengths = [s[0] for s in samples]
        expect(samples[-1][1] == "done", f"no done within 15 s; samples {samples[-5:]}")
        growth = sorted(set(lengths))
        expect(lengths == sorted(lengths), f"the answer shrank: {lengths}")
        expect(len(growth) >= 5, f"the answer did not grow over time (lengths seen: {lengths})")
        running = [s for s in samples if s[1] != "done"]
        expect(running and all(s[2] for s in running), f"send enabled while the chat ran: {running}")
        expect(any(s[1] == "streaming" and not s[3] for s in running), "stop never enabled while streaming")
        status = self.processing()
        expect(status[2] == "stop" and "完成" in status[1], f"processing status after done: {status}")
        wait_until("send enabled and stop disabled after done", lambda: self.buttons() == [False, True], 2)
        record = self.upstream("bt-grow")
        final = self.answer_text()
        expect(record and record["completed"], f"upstream record {record}")
        expect(final == record["sent_text"], f"page shows {final!r}, upstream sent {record['sent_text']!r}")
        users = self.js("return Array.from(document.querySelectorAll('#messages .user-message')).map(e => e.textContent)")
        expect(users[-1:] == [question.strip()], f"user messages {users}")
        return f"{len(growth)} distinct lengths over {len(samples)} samples, {len(final)} chars = upstream"

    def screenshot_shows_answer(self):
        self.driver.save_screenshot(self.screenshot)
        expect(self.baseline, "no baseline screenshot of the page before the chat")
        shot = Image.open(self.screenshot).convert("RGB")
        ratio = self.js("return window.devicePixelRatio") or 1
        rect = self.js("var m = document.querySelectorAll('#messages .assistant-message');"
                       "var r = m[m.length - 1].getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]")
        box = tuple(int(v * ratio) for v in rect)
        expect(box[2] - box[0] > 50 and box[3] - box[1] > 20, f"the answer's box is tiny: {box}")
        answer = shot.crop(box)
        pixels_seen = pixels(answer)
        ink = sum(1 for r, g, b in pixels_seen if (r * 299 + g * 587 + b * 114) // 1000 < 110)
        colours = len(set(pixels_seen))
        expect(ink > 400 and colours > 20, f"the answer area looks blank: {ink} dark pixels, {colours} colours")
        # Against the page before the chat: the messages area changed substantially.
        before = Image.open(io.BytesIO(self.baseline)).convert("RGB")
        area = self.js("var r = document.getElementById('messages').getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]")
        area = tuple(int(v * ratio) for v in area)
        a, b = pixels(before.crop(area)), pixels(shot.crop(area))
        changed = sum(1 for p, q in zip(a, b) if p != q) / max(1, len(a))
        whole = len(set(pixels(shot)))
        expect(changed > 0.02, f"the messages area barely changed ({changed:.1%}) from the empty page")
        return f"{self.screenshot}: answer box {ink} dark px, {colours} colours; {changed:.0%} of the messages area changed; {whole} colours in all"

    def unknown_member_shows_inline_error(self):
        errors = self.count("#messages .error-message")
        field = self.element("member-input")
        field.clear()
        field.send_keys("nobody_here")
        self.element("switch-member-btn").click()
        wait_until("an inline error", lambda: self.count("#messages .error-message") > errors, 5)
        error = self.js("var e = document.querySelectorAll('#messages .error-message'); e = e[e.length - 1];"
                        "return [e.dataset.errorCode, e.textContent, e.getBoundingClientRect().height > 0]")
        expect(error[0] == "MEMBER_NOT_FOUND" and "nobody_here" in error[1] and error[2], f"error shown: {error}")
        expect(self.element("active-member").text == USER, "the active member changed after a failed switch")
        return error[1]

    def switch_to_grandma(self):
        field = self.element("member-input")
        field.clear()
        field.send_keys("grandma")
        self.element("switch-member-btn").click()
        wait_until("#active-member = grandma", lambda: self.element("active-member").text == "grandma", 5)
        notes = self.js("return Array.from(document.querySelectorAll('#messages .system-message')).map(e => e.textContent)")
        expect(any("grandma" in n for n in notes), f"no note of the switch: {notes}")

    def stop_cancels_chat(self):
        Select(self.element("mood")).select_by_value("tired")
        sleep = self.element("sleep-hours")
        sleep.clear()
        sleep.send_keys("5.5")
        Select(self.element("activity-level")).select_by_value("low")
        self.type_question("头晕乏力怎么办 SIM[tokens=200,interval_ms=50,id=bt-stop]", enter=False)
        wait_until("a few streamed tokens", lambda: len(self.answer_text() or "") > 30, 10)
        wait_until("the stop button enabled", lambda: self.buttons()[1] is False, 2)
        self.element("stop-btn").click()
        status = wait_until("done (cancelled)", lambda: self.processing()[0] == "done" and self.processing(), 5)
        expect(status[2] == "cancelled", f"finish reason {status}")
        first = self.answer_text()
        time.sleep(1.0)
        later = self.answer_text()
        expect(first == later, f"the answer still grows after stop: {len(first)} -> {len(later)} chars")
        expect(self.count("#messages .assistant-message.cancelled") >= 1, "the stopped answer is not marked")
        expect(self.buttons() == [False, True], f"after stop: {self.buttons()}")
        record = wait_until("the upstream request aborted", lambda: (r := self.upstream("bt-stop")) and r["client_closed"] and r, 3)
        expect(record["tokens_sent"] < 200, f"upstream sent everything: {record}")
        body = json.loads(record["body"])
        prompt = "\n".join(m.get("content", "") for m in body["messages"])
        missing = [w for w in ("奶奶", "tired", "5.5", "low") if w not in prompt]
        expect(not missing, f"the member and the context fields did not reach the upstream: {missing}")
        return f"stopped at {len(later)} chars; upstream sent {record['tokens_sent']} of 200 tokens"

    def markdown_subset_is_safe(self):
        result = self.js("""
            var target = document.createElement('div');
            window.AuraWellChat.renderRich(target,
                '**粗体** <img src=x onerror="window.__xss=1"> <script>window.__xss=2<\\/script>\\n# 标题\\n- 项目 **b** & <b>x</b>\\n**未闭合');
            return [Array.from(target.querySelectorAll('*')).map(e => e.tagName), target.textContent,
                    Array.from(target.querySelectorAll('strong')).map(e => e.textContent)];
        """)
        tags, text, strong = result
        expect(set(tags) <= {"STRONG"}, f"elements other than <strong>: {tags}")
        expect(strong == ["粗体", "标题", "b"], f"bold parts {strong}")
        expect('<img src=x onerror="window.__xss=1">' in text and "<b>x</b>" in text and "**未闭合" in text, f"text {text!r}")
        expect("• 项目" in text, f"bullet not rendered: {text!r}")

    def hostile_user_text_stays_text(self):
        hostile = '<img src=x onerror="window.__xss=1"><b>粗</b> & **星** SIM[tokens=6,interval_ms=10,id=bt-xss]'
        self.type_question(hostile)
        self.wait_done()
        users = self.js("return Array.from(document.querySelectorAll('#messages .user-message')).map(e => e.textContent)")
        expect(users[-1] == hostile, f"user text changed: {users[-1]!r}")
        expect(self.count("#messages img, #messages b") == 0 and self.js("return window.__xss") is None, "user text became HTML")

    def graceful_restart_reconnects(self):
        mark = self.mark_connection_log()
        self.restart_gateway()
        self.wait_connected(timeout=40)
        log = self.connection_log(mark)
        said = [entry[2] for entry in log if entry[1] == "disconnected"]
        expect(any(re.search(r"连接断开.*\d+ 秒后重连", s) for s in said), f"never said it reconnects: {log}")
        wait_until("a reconnected note", lambda: any("已重新连接" in n for n in self.js(
            "return Array.from(document.querySelectorAll('#messages .system-message')).map(e => e.textContent)")), 5)
        wait_until("the member restored after the reconnect", lambda: self.element("active-member").text == "grandma", 5)
        # A new chat works.
        self.type_question("重启后还能用吗 SIM[tokens=6,interval_ms=10,id=bt-after1]")
        self.wait_done()
        expect(self.processing()[2] == "stop", f"after the restart: {self.processing()}")
        record = self.upstream("bt-after1")
        expect(record and self.answer_text() == record["sent_text"], f"answer {self.answer_text()!r} vs {record}")
        return f"said {said[0]!r}"

    def crash_mid_chat_marks_it_interrupted(self):
        mark = self.mark_connection_log()
        self.type_question("SIM[tokens=400,interval_ms=50,id=bt-crash]")
        wait_until("the answer streaming", lambda: len(self.answer_text() or "") > 20, 10)
        self.restart_gateway("kill")
        wait_until("the answer marked interrupted",
                   lambda: self.count("#messages .assistant-message.interrupted") >= 1, 10)
        self.wait_connected(timeout=40)
        expect(any(entry[1] == "disconnected" for entry in self.connection_log(mark)), "no disconnected status seen")
        wait_until("send re-enabled after the reconnect", lambda: self.buttons() == [False, True], 5)
        self.type_question("还在吗 SIM[tokens=8,interval_ms=10,id=bt-after2]")
        self.wait_done()
        record = self.upstream("bt-after2")
        expect(record and self.answer_text() == record["sent_text"], f"answer {self.answer_text()!r} vs {record}")

    def phone_layout(self):
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
        try:
            time.sleep(0.3)
            metrics = self.js("""
                var r = function (id) { var b = document.getElementById(id).getBoundingClientRect();
                                        return [b.left, b.top, b.right, b.bottom]; };
                return {width: innerWidth, height: innerHeight, scroll: document.documentElement.scrollWidth,
                        send: r('send-btn'), stop: r('stop-btn'), input: r('message-input'), sw: r('switch-member-btn'),
                        messages: r('messages'),
                        font: parseFloat(getComputedStyle(document.getElementById('message-input')).fontSize)};
            """)
            expect(metrics["width"] == 390, f"viewport {metrics['width']} (no viewport meta?)")
            expect(metrics["scroll"] <= 390, f"horizontal overflow: {metrics['scroll']} px wide")
            for name in ("send", "stop", "input", "sw"):
                left, top, right, bottom = metrics[name]
                expect(bottom - top >= 40 and left >= 0 and right <= 390 and bottom <= metrics["height"],
                       f"{name} not a visible touch target: {metrics[name]}")
            expect(metrics["messages"][3] - metrics["messages"][1] >= 300, f"messages area too small: {metrics['messages']}")
            expect(metrics["font"] >= 16, f"input font {metrics['font']}px (phones zoom in below 16px)")
            # Switching an open page into mobile emulation resets its scroll positions (a page on
            # a real phone is mobile from the start): show the newest messages, as the page would.
            self.js("var m = document.getElementById('messages'); m.scrollTop = m.scrollHeight")
            self.driver.save_screenshot(self.phone_screenshot)
            return self.phone_screenshot
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def no_console_errors(self):
        entries = self.driver.get_log("browser")
        # A refused WebSocket while the gateway restarts is expected and logged by the browser.
        serious = [e["message"] for e in entries if e["level"] == "SEVERE"
                   and "WebSocket connection to" not in e["message"] and "ERR_CONNECTION_REFUSED" not in e["message"]]
        expect(not serious, f"console errors: {serious}")

    def main(self):
        try:
            self.start_browser()
        except Exception as error:
            self.failed += 1
            say(f"FAIL start_browser: {type(error).__name__}: {error}")
            return
        if not self.run("page_loads_and_connects", self.page_loads_and_connects):
            return  # nothing else can work
        self.run("streamed_answer_grows", self.streamed_answer_grows)
        self.run("screenshot_shows_answer", self.screenshot_shows_answer)
        self.run("unknown_member_shows_inline_error", self.unknown_member_shows_inline_error)
        self.run("switch_to_grandma", self.switch_to_grandma)
        self.run("stop_cancels_chat", self.stop_cancels_chat)
        self.run("markdown_subset_is_safe", self.markdown_subset_is_safe)
        self.run("hostile_user_text_stays_text", self.hostile_user_text_stays_text)
        if self.restarts:
            self.run("graceful_restart_reconnects", self.graceful_restart_reconnects)
            self.run("crash_mid_chat_marks_it_interrupted", self.crash_mid_chat_marks_it_interrupted)
        self.run("phone_layout", self.phone_layout)
        self.run("no_console_errors", self.no_console_errors)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    # SIGTERM (the runner's deadline) unwinds through `finally`, so Chromium is not left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    test = BrowserTest(args[0], int(args[1]), args[2], restarts="--no-restart" not in sys.argv)
    try:
        test.main()
    finally:
        if test.driver:
            try:
                test.driver.quit()
            except Exception:
                pass
    say(f"{test.passed} passed, {test.failed} failed")
    sys.exit(0 if test.failed == 0 and test.passed > 0 else 1)


if __name__ == "__main__":
    main()
