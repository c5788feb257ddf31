import FoundationEssentials
import Glibc
import Histogram
import Reactor

/// The parent process of a run: spawns the workers (this executable, hidden `worker`
/// subcommand), moves them through the phases together (`go` → all connected → `run` → `stop`),
/// samples the server's, the simulator's and its own processes' RSS and CPU from /proc every
/// `sampleMilliseconds`, and merges the workers' results.
final class Coordinator: TimerHandler {
    let plan: RunPlan
    let reactor: Reactor
    fileprivate var workers: [WorkerChannel] = []
    private var samples: [Sample] = []
    private var marks: [String: Int] = [:]
    private let startNs = monotonicNanoseconds()
    private var sampling = false
    private var lastNote: UInt64 = 0
    private(set) var problems: [String] = []

    init(plan: RunPlan) throws {
        self.plan = plan
        reactor = try Reactor(timerTickMilliseconds: 1)
    }

    func run() throws -> ScenarioResult {
        signal(SIGPIPE, SIG_IGN)
        Socket.raiseDescriptorLimit()
        let watcher = try SignalWatcher(reactor: reactor, signals: [SIGINT, SIGTERM]) { [unowned self] signal in
            self.interrupted(signal)
        }
        defer { watcher.close() }
        mark("before")
        sampling = true
        _ = reactor.schedule(after: plan.sampleMilliseconds, handler: self, tag: 0)

        let executable = SpawnedProcess.currentExecutable()
        let encoder = JSONEncoder()
        for spec in plan.specs() {
            let process = try SpawnedProcess.spawn(executable, arguments: ["worker"])
            let channel = WorkerChannel(index: spec.worker, process: process, coordinator: self)
            Socket.setNonBlocking(process.output)
            try reactor.register(process.output, interest: .read, handler: channel)
            workers.append(channel)
            var line = try encoder.encode(spec)
            line.append(0x0A)
            channel.send(Array(line))
        }
        note("\(plan.label): \(plan.processes) worker process(es), \(Format.grouped(plan.clients)) clients → \(plan.target.host):\(plan.target.port)")
        guard waitFor(seconds: 30, { $0.ready }) else { throw SpawnedProcess.Failure(description: "workers did not start") }

        mark("go")
        broadcast("go")
        let rateSeconds = plan.connectRate > 0 ? Double(plan.clients) / plan.connectRate : 0
        let connectLimit = rateSeconds + Double(plan.handshakeTimeoutMilliseconds) / 1000 + 30
        if !waitFor(seconds: connectLimit, progress: "connecting", { $0.connected }) {
            problems.append("not every worker finished connecting within \(Int(connectLimit)) s")
        }
        mark("connected")
        note("\(plan.label): \(Format.grouped(openConnections)) open, \(Format.grouped(failedConnections)) failed after \(Format.fixed(elapsed(since: "go"), 2)) s")

        switch plan.kind {
        case .connect:
            break
        case .idle:
            pause(seconds: plan.settleSeconds)
            mark("atN")
            note("\(plan.label): holding \(Format.grouped(openConnections)) connections for \(Format.fixed(plan.durationSeconds, 0)) s")
            pause(seconds: max(0, plan.durationSeconds - plan.settleSeconds), progress: "holding")
        case .chat:
            mark("atN")
            broadcast("run")
            mark("run")
            if !waitFor(seconds: plan.maxRunSeconds, progress: "chatting", { $0.finished }) {
                problems.append("chats still running after \(Int(plan.maxRunSeconds)) s: stopped")
            }
        case .echo:
            mark("atN")
            broadcast("run")
            mark("run")
            pause(seconds: plan.durationSeconds, progress: "echoing")
        }
        mark("stop")
        broadcast("stop")
        if !waitFor(seconds: 60, { $0.result != nil }) { problems.append("some workers sent no result") }
        for worker in workers { worker.open = 0 }
        mark("results")
        for worker in workers { worker.finish() }
        pause(seconds: plan.settleAfterSeconds)
        mark("after")
        sampling = false
        return buildResult()
    }

    // MARK: Phases

    private func broadcast(_ command: String) {
        let bytes = Array((command + "\n").utf8)
        for worker in workers where !worker.gone { worker.send(bytes) }
    }

    /// Runs the loop until `condition` holds for every live worker; false on timeout.
    private func waitFor(seconds: Double, progress: String? = nil, _ condition: (WorkerChannel) -> Bool) -> Bool {
        let deadline = monotonicNanoseconds() + UInt64(max(0, seconds) * 1e9)
        while !workers.allSatisfy({ $0.gone || condition($0) }) {
            if monotonicNanoseconds() >= deadline { return false }
            reactor.runOnce(maxWaitMilliseconds: 50)
            if let progress { periodicNote(progress) }
        }
        return true
    }

    private func pause(seconds: Double, progress: String? = nil) {
        let deadline = monotonicNanoseconds() + UInt64(max(0, seconds) * 1e9)
        while monotonicNanoseconds() < deadline {
            reactor.runOnce(maxWaitMilliseconds: 50)
            if let progress { periodicNote(progress) }
        }
    }

    private func interrupted(_ signal: Int32) {
        for worker in workers where !worker.gone { kill(worker.process.pid, SIGTERM) }
        FileHandleLite.standardError("aurawell-load: interrupted, workers stopped")
        exit(130)
    }

    fileprivate func workerGone(_ worker: WorkerChannel) {
        if worker.result == nil { problems.append("worker \(worker.index) exited without a result") }
    }

    // MARK: Sampling

    func timerFired(tag: Int) {
        guard sampling else { return }
        samples.append(takeSample())
        _ = reactor.schedule(after: plan.sampleMilliseconds, handler: self, tag: 0)
    }

    private func mark(_ name: String) {
        samples.append(takeSample())
        marks[name] = samples.count - 1
    }

    private var openConnections: Int { workers.reduce(0) { $0 + $1.open } }
    private var failedConnections: Int { workers.reduce(0) { $0 + $1.failed } }

    private func takeSample() -> Sample {
        var sample = Sample(t: Double(monotonicNanoseconds() - startNs) / 1e9, connections: openConnections)
        if let pid = plan.serverPID, let usage = Proc.usage(pid) {
            sample.serverRSSKiB = usage.rssKiB
            sample.serverCPU = usage.cpuSeconds
        }
        if let pid = plan.simulatorPID, let usage = Proc.usage(pid) {
            sample.simRSSKiB = usage.rssKiB
            sample.simCPU = usage.cpuSeconds
        }
        var tester = Proc.cpuSeconds(getpid()) ?? 0
        for worker in workers {
            if !worker.reaped, let cpu = Proc.cpuSeconds(worker.process.pid) { worker.lastCPU = cpu }
            tester += worker.lastCPU
        }
        sample.testerCPU = tester
        if let machine = Proc.machineSeconds() {
            sample.machineCPU = machine.busy
            sample.machineSteal = machine.steal
        }
        return sample
    }

    private func elapsed(since name: String) -> Double {
        guard let index = marks[name] else { return 0 }
        return Double(monotonicNanoseconds() - startNs) / 1e9 - samples[index].t
    }

    private func note(_ text: String) {
        guard !plan.quiet else { return }
        FileHandleLite.standardError(text)
    }

    private func periodicNote(_ what: String) {
        let now = monotonicNanoseconds()
        guard now - lastNote >= 5_000_000_000 else { return }
        if lastNote != 0 { note("\(plan.label): \(what), \(Format.grouped(openConnections)) open, \(Format.grouped(failedConnections)) failed") }
        lastNote = now
    }

    // MARK: Merging

    private func buildResult() -> ScenarioResult {
        let results = workers.compactMap(\.result)
        var r = ScenarioResult(plan: plan, machine: MachineInfo.current())
        var histograms: [String: LatencyHistogram] = [:]
        var firstSend: UInt64?
        var lastReceive: UInt64?
        var goNs: UInt64 = .max
        var connectedNs: UInt64 = 0
        for w in results {
            r.opened += w.opened
            r.survivors += w.survivors
            r.pingsAnswered += w.pingsAnswered
            r.failures.merge(w.failures, uniquingKeysWith: +)
            r.endedEarly.merge(w.endedEarly, uniquingKeysWith: +)
            r.counters.merge(w.counters, uniquingKeysWith: +)
            r.errorCodes.merge(w.errorCodes, uniquingKeysWith: +)
            r.finishReasons.merge(w.finishReasons, uniquingKeysWith: +)
            r.violations.merge(w.violations, uniquingKeysWith: +)
            for (name, buckets) in w.histograms { histograms[name, default: .latency()].add(buckets: buckets) }
            if let f = w.firstSendNs { firstSend = min(firstSend ?? f, f) }
            if let l = w.lastReceiveNs { lastReceive = max(lastReceive ?? l, l) }
            goNs = min(goNs, w.goNs)
            connectedNs = max(connectedNs, w.connectedNs)
        }
        r.latency = histograms.filter { $0.value.totalCount > 0 }.mapValues { $0.summary() }
        if connectedNs > goNs { r.connectSeconds = Double(connectedNs - goNs) / 1e9 }
        r.problems = problems

        let window: (String, String, String)
        switch plan.kind {
        case .connect: window = ("connect", "go", "connected")
        case .idle: window = ("hold", "connected", "stop")
        case .chat, .echo: window = ("run", "run", "stop")
        }
        r.windowName = window.0
        let start = samples[marks[window.1] ?? 0]
        let end = samples[marks[window.2] ?? samples.count - 1]
        let inWindow = samples.filter { $0.t >= start.t && $0.t <= end.t }
        r.windowSeconds = end.t - start.t
        let before = samples[marks["before"] ?? 0]
        let atN = samples[marks["atN"] ?? marks["connected"] ?? 0]
        let after = samples[marks["after"] ?? samples.count - 1]
        let opened = max(r.opened, 1)

        func figures(_ pid: Int32?, _ rss: (Sample) -> Int?, _ cpu: (Sample) -> Double?) -> ProcessFigures? {
            guard let pid, let rssBefore = rss(before) else { return nil }
            var f = ProcessFigures(pid: pid)
            f.rssBeforeKiB = rssBefore
            f.rssAtConnectionsKiB = rss(atN) ?? 0
            f.rssPeakKiB = samples.compactMap(rss).max() ?? 0
            f.rssPeakInWindowKiB = inWindow.compactMap(rss).max() ?? 0
            f.rssAfterKiB = rss(after) ?? 0
            f.cpuSecondsWindow = (cpu(end) ?? 0) - (cpu(start) ?? 0)
            f.cpuPercentWindow = r.windowSeconds > 0 ? 100 * f.cpuSecondsWindow / r.windowSeconds : 0
            f.cpuSecondsRun = (cpu(after) ?? cpu(end) ?? 0) - (cpu(before) ?? 0)
            f.bytesPerConnection = Double(f.rssAtConnectionsKiB - f.rssBeforeKiB) * 1024 / Double(opened)
            f.bytesPerConnectionAtPeak = Double(f.rssPeakInWindowKiB - f.rssBeforeKiB) * 1024 / Double(opened)
            return f
        }
        r.server = figures(plan.serverPID, \.serverRSSKiB, \.serverCPU)
        r.simulator = figures(plan.simulatorPID, \.simRSSKiB, \.simCPU)
        var tester = TesterFigures(processes: plan.processes)
        tester.cpuSecondsWindow = end.testerCPU - start.testerCPU
        tester.cpuPercentWindow = r.windowSeconds > 0 ? 100 * tester.cpuSecondsWindow / r.windowSeconds : 0
        tester.cpuSecondsRun = Proc.rusageSeconds(Int32(RUSAGE_SELF.rawValue)) + Proc.rusageSeconds(Int32(RUSAGE_CHILDREN.rawValue))
        tester.workerCPUSeconds = results.reduce(0) { $0 + $1.cpuSeconds }
        r.tester = tester
        if let machineEnd = end.machineCPU, let machineStart = start.machineCPU, r.windowSeconds > 0 {
            let known = tester.cpuSecondsWindow + (r.server?.cpuSecondsWindow ?? 0) + (r.simulator?.cpuSecondsWindow ?? 0)
            r.otherCPUPercentWindow = max(0, 100 * ((machineEnd - machineStart) - known) / r.windowSeconds)
        }
        if let stealEnd = end.machineSteal, let stealStart = start.machineSteal, r.windowSeconds > 0 {
            r.stealCPUPercentWindow = 100 * (stealEnd - stealStart) / r.windowSeconds
        }

        if let firstSend, let lastReceive, lastReceive > firstSend {
            let seconds = Double(lastReceive - firstSend) / 1e9
            r.loadSeconds = seconds
            if plan.kind == .chat {
                let tokens = Double(r.counters["tokens"] ?? 0)
                r.tokensPerSecond = tokens / seconds
                if let server = r.server, server.cpuSecondsWindow > 0 { r.tokensPerServerCPUSecond = tokens / server.cpuSecondsWindow }
            }
            if plan.kind == .echo {
                r.messagesPerSecond = Double(r.counters["echoes"] ?? 0) / seconds
            }
        }
        r.samples = samples
        r.marks = marks.mapValues { samples[$0].t }
        return r
    }
}

/// The coordinator's end of one worker: its stdout lines, its phase flags, its result.
private final class WorkerChannel: IOHandler {
    let index: Int
    let process: SpawnedProcess
    unowned let coordinator: Coordinator
    private var buffer: [UInt8] = []
    var ready = false
    var connected = false
    var finished = false
    var open = 0
    var failed = 0
    var result: WorkerResult?
    var gone = false
    var reaped = false
    var lastCPU = 0.0

    init(index: Int, process: SpawnedProcess, coordinator: Coordinator) {
        self.index = index
        self.process = process
        self.coordinator = coordinator
    }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(process.input, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                offset += n
            }
        }
    }

    func handleIO(_ events: IOEvents) {
        let scratch = coordinator.reactor.receiveBuffer
        while true {
            let n = Glibc.read(process.output, scratch.baseAddress, scratch.count)
            if n > 0 {
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<n]))
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n == 0 {
                coordinator.reactor.deregister(process.output)
                Glibc.close(process.output)
                gone = true
                lines()
                coordinator.workerGone(self)
                return
            }
            break
        }
        lines()
    }

    private func lines() {
        var start = 0
        let decoder = JSONDecoder()
        while let newline = buffer[start...].firstIndex(of: 0x0A) {
            let line = Data(buffer[start..<newline])
            start = newline + 1
            guard let event = try? decoder.decode(WorkerEvent.self, from: line) else { continue }
            switch event.event {
            case "ready": ready = true
            case "connected": connected = true
            case "finished": finished = true
            case "result":
                result = event.result
                finished = true
            default: break
            }
            if let open = event.open { self.open = open }
            if let failed = event.failed { self.failed = failed }
        }
        if start > 0 { buffer.removeFirst(start) }
    }

    /// Closes the pipes and reaps the process.
    func finish() {
        if !gone {
            coordinator.reactor.deregister(process.output)
            Glibc.close(process.output)
            gone = true
        }
        Glibc.close(process.input)
        if let cpu = Proc.cpuSeconds(process.pid) { lastCPU = cpu }
        _ = process.wait()
        reaped = true
    }
}

/// Lines and text for the terminal.
enum FileHandleLite {
    static func standardError(_ line: String) { writeAll(line + "\n", to: 2) }
    static func standardOutput(_ text: String) { writeAll(text, to: 1) }
}
