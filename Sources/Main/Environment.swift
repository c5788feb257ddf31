import Glibc

/// Reads configuration from the process environment (flags override it; see PROTOCOL.md).
struct Environment {
    var values: [String: String]

    static var current: Environment {
        var values: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            if let equals = pair.firstIndex(of: "=") {
                values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            cursor += 1
        }
        return Environment(values: values)
    }

    subscript(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// An integer setting, or a clear error naming the variable.
    func integer(_ name: String) throws -> Int? {
        guard let text = self[name] else { return nil }
        guard let value = Int(text), value >= 0 else {
            throw ConfigurationError("\(name) must be a non-negative integer, got \(text.debugDescription)")
        }
        return value
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
