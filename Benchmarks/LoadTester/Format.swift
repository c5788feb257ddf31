/// Number formatting without Foundation's `String(format:)`.
enum Format {
    /// `value` with exactly `decimals` digits after the point.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "n/a" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = value < 0
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9.0e18 else { return String(value) }
        let integer = UInt64(scaled)
        let whole = integer / UInt64(scale)
        var text = grouped(whole)
        if decimals > 0 {
            var fraction = String(integer % UInt64(scale))
            while fraction.count < decimals { fraction = "0" + fraction }
            text += "." + fraction
        }
        return negative && scaled > 0 ? "-" + text : text
    }

    /// An integer with thin-space-free thousands separators (`19,500`).
    static func grouped<T: BinaryInteger>(_ value: T) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    /// Milliseconds with a precision that suits the magnitude.
    static func ms(_ value: Double) -> String {
        if value < 1 { return fixed(value, 3) }
        if value < 100 { return fixed(value, 2) }
        return fixed(value, 0)
    }

    static func kib(_ kib: Int) -> String {
        kib >= 10 * 1024 ? fixed(Double(kib) / 1024, 1) + " MiB" : grouped(kib) + " KiB"
    }

    static func bytes(_ value: Double) -> String {
        if value.magnitude >= 10 * 1024 { return fixed(value / 1024, 1) + " KiB" }
        return fixed(value, 0) + " B"
    }

    /// Pads to `width` (left-aligned, or right-aligned for numbers).
    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let n = text.count
        guard n < width else { return text }
        let fill = String(repeating: " ", count: width - n)
        return right ? fill + text : text + fill
    }
}

/// A plain text table with aligned columns.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) { self.header = header }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                Format.pad(cell, widths[i], right: i > 0 && cell.first.map { $0.isNumber || $0 == "-" } == true)
            }.joined(separator: "  ")
        }
        var out = line(header) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in rows { out += line(row) + "\n" }
        return out
    }
}
