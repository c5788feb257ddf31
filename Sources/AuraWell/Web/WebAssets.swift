/// The chat page's files, compiled into the binary (no CDN, no files to deploy). Each asset is
/// served with its content type, a strong ETag (a hash of its bytes) and Cache-Control.
enum WebAssets {
    struct Asset {
        let path: String
        let contentType: String
        let bytes: [UInt8]
        let etag: String
        /// HTML revalidates every time (it names the other assets); the rest may be cached briefly.
        let cacheControl: String

        init(path: String, contentType: String, text: String, cacheControl: String) {
            self.path = path
            self.contentType = contentType
            self.bytes = Array(text.utf8)
            self.etag = "\"\(Hex.encode(Self.fnv1a(bytes)))\""
            self.cacheControl = cacheControl
        }

        /// FNV-1a 64: enough to tell versions of our own files apart.
        private static func fnv1a(_ bytes: [UInt8]) -> [UInt8] {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes {
                hash ^= UInt64(byte)
                hash &*= 0x100_0000_01b3
            }
            return withUnsafeBytes(of: hash.bigEndian, Array.init)
        }
    }

    static let all: [String: Asset] = {
        let assets = [
            Asset(path: "/", contentType: "text/html; charset=utf-8", text: indexHTML, cacheControl: "no-cache"),
            Asset(path: "/static/app.js", contentType: "text/javascript; charset=utf-8", text: appJS, cacheControl: "public, max-age=300"),
            Asset(path: "/static/app.css", contentType: "text/css; charset=utf-8", text: appCSS, cacheControl: "public, max-age=300"),
        ]
        return Dictionary(uniqueKeysWithValues: assets.map { ($0.path, $0) })
    }()
}
