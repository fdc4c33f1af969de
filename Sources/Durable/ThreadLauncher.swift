#if canImport(Glibc)
import Glibc
#endif

/// Starts a thread running a closure (Foundation-free).
public final class ThreadLauncher: @unchecked Sendable {
    private let body: @Sendable () -> Void

    public init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
    }

    public func start() {
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let launcher = Unmanaged<ThreadLauncher>.fromOpaque(raw!).takeRetainedValue()
            launcher.body()
            return nil
        }, box.toOpaque())
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }
}
