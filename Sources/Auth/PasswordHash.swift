import COpenSSL

/// Password hashes in `mosquitto_passwd`'s format, so a file it wrote works unchanged and
/// one written here works in Mosquitto: `$7$<iterations>$<salt>$<hash>` — PBKDF2-HMAC-SHA512,
/// 12-byte salt, 64-byte hash, both base64 — and the older `$6$<salt>$<hash>`, SHA-512 of
/// the password followed by the salt (Mosquitto's password_mosq.c).
public struct PasswordHash: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case sha512
        case pbkdf2SHA512(iterations: Int)
    }

    public let kind: Kind
    public let salt: [UInt8]
    public let hash: [UInt8]

    /// Mosquitto 2.0's default iteration count.
    public static let defaultIterations = 101

    public init(kind: Kind, salt: [UInt8], hash: [UInt8]) {
        self.kind = kind
        self.salt = salt
        self.hash = hash
    }

    /// A new hash of `password` with a random 12-byte salt (what `mosquitto_passwd` writes).
    public static func make(_ password: String, iterations: Int = defaultIterations) -> PasswordHash {
        var salt = [UInt8](repeating: 0, count: 12)
        precondition(RAND_bytes(&salt, Int32(salt.count)) == 1, "RAND_bytes failed")
        let kind = Kind.pbkdf2SHA512(iterations: iterations)
        return PasswordHash(kind: kind, salt: salt, hash: derive(password, kind: kind, salt: salt))
    }

    /// The hash `kind` gives `password` with `salt`.
    public static func derive(_ password: String, kind: Kind, salt: [UInt8]) -> [UInt8] {
        let bytes = Array(password.utf8)
        var output = [UInt8](repeating: 0, count: 64)
        switch kind {
        case let .pbkdf2SHA512(iterations):
            let ok = bytes.withUnsafeBufferPointer { p in
                PKCS5_PBKDF2_HMAC(
                    p.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, Int32(bytes.count), salt, Int32(salt.count), Int32(iterations),
                    EVP_sha512(), 64, &output)
            }
            precondition(ok == 1, "PKCS5_PBKDF2_HMAC failed")
        case .sha512:
            let context = EVP_MD_CTX_new()
            defer { EVP_MD_CTX_free(context) }
            var length: UInt32 = 0
            precondition(
                EVP_DigestInit_ex(context, EVP_sha512(), nil) == 1 && EVP_DigestUpdate(context, bytes, bytes.count) == 1
                    && EVP_DigestUpdate(context, salt, salt.count) == 1 && EVP_DigestFinal_ex(context, &output, &length) == 1,
                "SHA-512 failed")
        }
        return output
    }

    /// Whether `password` is the one hashed, compared in constant time (CRYPTO_memcmp).
    public func verify(_ password: String) -> Bool {
        let candidate = Self.derive(password, kind: kind, salt: salt)
        guard candidate.count == hash.count else { return false }
        return CRYPTO_memcmp(candidate, hash, hash.count) == 0
    }

    /// `$7$101$<salt>$<hash>` or `$6$<salt>$<hash>`.
    public var encoded: String {
        switch kind {
        case let .pbkdf2SHA512(iterations): return "$7$\(iterations)$\(Base64Codec.encode(salt))$\(Base64Codec.encode(hash))"
        case .sha512: return "$6$\(Base64Codec.encode(salt))$\(Base64Codec.encode(hash))"
        }
    }

    /// Parses the part after `user:`; nil when it is not one of the two formats.
    public init?(encoded text: Substring) {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        // "", "7", iterations, salt, hash  /  "", "6", salt, hash
        guard parts.first == "" else { return nil }
        switch parts.count {
        case 5 where parts[1] == "7":
            guard let iterations = Int(parts[2]), iterations > 0, iterations <= 10_000_000,
                let salt = Base64Codec.decode(parts[3]), let hash = Base64Codec.decode(parts[4]), hash.count == 64, !salt.isEmpty
            else { return nil }
            self.init(kind: .pbkdf2SHA512(iterations: iterations), salt: salt, hash: hash)
        case 4 where parts[1] == "6":
            guard let salt = Base64Codec.decode(parts[2]), let hash = Base64Codec.decode(parts[3]), hash.count == 64, !salt.isEmpty else { return nil }
            self.init(kind: .sha512, salt: salt, hash: hash)
        default:
            return nil
        }
    }
}

/// Standard base64 with padding (RFC 4648 §4), as mosquitto_passwd writes it.
enum Base64Codec {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let a = bytes[index], b = index + 1 < bytes.count ? bytes[index + 1] : 0, c = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(a >> 2)])
            out.append(alphabet[Int((a & 0x03) << 4 | b >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((b & 0x0F) << 2 | c >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(c & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, let value = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt8(value))
        }
        guard (values.count + padding) % 4 == 0, padding <= 2 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index + 1 < values.count {
            let a = values[index], b = values[index + 1]
            out.append(a << 2 | b >> 4)
            if index + 2 < values.count { out.append((b & 0x0F) << 4 | values[index + 2] >> 2) }
            if index + 3 < values.count { out.append((values[index + 2] & 0x03) << 6 | values[index + 3]) }
            index += 4
        }
        return out
    }
}
