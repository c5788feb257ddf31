// The entry point: everything else lives in the other files of this target, so that tests can
// link the target and drive `SimulatorServer` on their own reactor.
import ArgumentParser

SimulatorCommand.main()
