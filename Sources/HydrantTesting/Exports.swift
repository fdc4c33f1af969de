// Every test target that uses the broker harness also gets the general test support
// (Locked, TemporaryDirectory, ChildProcess) through this one import.
@_exported import TestSupport
