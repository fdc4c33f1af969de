import Broker
import Synchronization

/// The authenticator and authorizer the daemon swaps on SIGHUP: new CONNECTs use the new
/// ones at once, and connected clients' permissions are resolved again at their next action
/// (a generation number compared per check), so no connection is dropped.
public final class ReloadableAccess: Sendable {
    private let current: Mutex<(authenticator: (any ClientAuthenticator)?, authorizer: (any ClientAuthorizer)?)>
    let generation = Atomic<UInt64>(0)

    public init(authenticator: (any ClientAuthenticator)?, authorizer: (any ClientAuthorizer)?) {
        current = Mutex((authenticator, authorizer))
    }

    public func replace(authenticator: (any ClientAuthenticator)?, authorizer: (any ClientAuthorizer)?) {
        current.withLock { $0 = (authenticator, authorizer) }
        generation.add(1, ordering: .releasing)
    }

    var authenticatorNow: (any ClientAuthenticator)? { current.withLock { $0.authenticator } }
    var authorizerNow: (any ClientAuthorizer)? { current.withLock { $0.authorizer } }

    /// What the broker is given: it always asks this object, which asks the current files.
    public var authenticator: any ClientAuthenticator { ReloadingAuthenticator(access: self) }
    public var authorizer: any ClientAuthorizer { ReloadingAuthorizer(access: self) }
}

struct ReloadingAuthenticator: ClientAuthenticator {
    let access: ReloadableAccess

    func authenticate(username: String?, password: [UInt8]?, clientId: String) -> AuthenticationOutcome {
        access.authenticatorNow?.authenticate(username: username, password: password, clientId: clientId) ?? .accepted
    }
}

struct ReloadingAuthorizer: ClientAuthorizer {
    let access: ReloadableAccess

    func permissions(username: String?, clientId: String) -> any ClientPermissions {
        ReloadingPermissions(access: access, username: username, clientId: clientId)
    }
}

/// One client's permissions, resolved again when the files were reloaded since.
final class ReloadingPermissions: ClientPermissions, @unchecked Sendable {
    // Event-loop thread only.
    private let access: ReloadableAccess
    private let username: String?
    private let clientId: String
    private var generation: UInt64
    private var inner: (any ClientPermissions)?

    init(access: ReloadableAccess, username: String?, clientId: String) {
        self.access = access
        self.username = username
        self.clientId = clientId
        generation = access.generation.load(ordering: .acquiring)
        inner = access.authorizerNow?.permissions(username: username, clientId: clientId)
    }

    func allows(_ operation: AuthorizationOperation) -> Bool {
        let now = access.generation.load(ordering: .acquiring)
        if now != generation {
            generation = now
            inner = access.authorizerNow?.permissions(username: username, clientId: clientId)
        }
        return inner?.allows(operation) ?? true
    }
}
