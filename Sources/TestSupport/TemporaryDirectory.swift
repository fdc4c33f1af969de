import Foundation

/// A fresh directory under the system temp directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "hydrant-test") throws {
        path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// An existing (or to be created) directory, e.g. on a file system a test mounted.
    public init(existing path: String) {
        self.path = path
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
