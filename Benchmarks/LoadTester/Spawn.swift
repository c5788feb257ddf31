import Glibc

/// A child process started with `posix_spawn`, its stdin and stdout connected to pipes.
struct SpawnedProcess {
    var pid: pid_t
    /// Write end of the child's stdin.
    var input: Int32
    /// Read end of the child's stdout.
    var output: Int32

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The path of the running executable.
    static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func spawn(_ executable: String, arguments: [String]) throws -> SpawnedProcess {
        var toChild: [Int32] = [-1, -1]
        var fromChild: [Int32] = [-1, -1]
        guard pipe(&toChild) == 0 else { throw Failure(description: "pipe: \(errnoName(errno))") }
        guard pipe(&fromChild) == 0 else { throw Failure(description: "pipe: \(errnoName(errno))") }
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the copies; the originals close at exec.
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The coordinator blocks SIGINT/SIGTERM for its signalfd: the child must not inherit that.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        // Bind every symbol at start: lazy binding would charge the first clients' latencies.
        var environment: [UnsafeMutablePointer<CChar>?] = [strdup("LD_BIND_NOW=1")]
        var cursor = environ
        while let entry = cursor.pointee {
            if strncmp(entry, "LD_BIND_NOW=", 12) != 0 { environment.append(strdup(entry)) }
            cursor += 1
        }
        defer { environment.forEach { free($0) } }
        var pid: pid_t = 0
        let status = (argv + [nil]).withUnsafeBufferPointer { args in
            (environment + [nil]).withUnsafeBufferPointer { env in
                posix_spawn(&pid, executable, &actions, &attributes, args.baseAddress!, env.baseAddress!)
            }
        }
        Glibc.close(toChild[0])
        Glibc.close(fromChild[1])
        guard status == 0 else {
            Glibc.close(toChild[1])
            Glibc.close(fromChild[0])
            throw Failure(description: "posix_spawn \(executable): \(errnoName(status))")
        }
        return SpawnedProcess(pid: pid, input: toChild[1], output: fromChild[0])
    }

    /// Waits for the exit; returns the raw wait status.
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }
}
