import Hydrant

#if canImport(Glibc)
import Glibc
#endif

exit(HydrantCommand.main(Array(CommandLine.arguments.dropFirst())))
