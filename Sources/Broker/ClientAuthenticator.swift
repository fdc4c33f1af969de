/// Checks a CONNECT's credentials (user name, password, client id) before the session is
/// touched. Called on the event loop: implementations must be quick (a PBKDF2 of Mosquitto's
/// 101 iterations is ~0.1 ms).
public protocol ClientAuthenticator: Sendable {
    func authenticate(username: String?, password: [UInt8]?, clientId: String) -> AuthenticationOutcome
}

public enum AuthenticationOutcome: Sendable, Equatable {
    case accepted
    /// Wrong password or unknown user: CONNACK 0x05 (3.1.1) / 0x86 (5.0).
    case badCredentials
    /// No credentials where they are required: CONNACK 0x05 / 0x87.
    case notAuthorized
}
