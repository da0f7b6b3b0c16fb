import EmbCacheCLI
import EmbCacheCore

// `embcache serve`, which `embcache` runs in its place (see ServeLauncher):
// the server framework is linked here only.
Interrupt.ignoreWriteSignals()
run(ServeCommand.self, Array(CommandLine.arguments.dropFirst()), helpName: "embcache serve")
