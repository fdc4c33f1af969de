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

/// What a client wants to do with a topic, as authorization sees it.
public enum AuthorizationOperation: Sendable, Hashable {
    /// CONNECT with this client's id (IoT policies' iot:Connect).
    case connect
    /// A retained PUBLISH to this topic (IoT policies' iot:RetainPublish), asked besides `publish`.
    case retain(String)
    /// PUBLISH (and its will, when sent): write.
    case publish(String)
    /// SUBSCRIBE with this filter.
    case subscribe(String)
    /// A delivery to the client: read.
    case receive(String)
}

/// Decides what authenticated clients may do (ACL file, policies): resolved once per
/// connection into its `ClientPermissions`.
public protocol ClientAuthorizer: Sendable {
    func permissions(username: String?, clientId: String) -> any ClientPermissions
}

/// One client's permissions, asked on the event loop for every PUBLISH, SUBSCRIBE filter and
/// delivery: implementations must be quick (cache what they decide).
public protocol ClientPermissions: AnyObject, Sendable {
    func allows(_ operation: AuthorizationOperation) -> Bool
}
