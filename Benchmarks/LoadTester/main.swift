// `aurawell-load`: the AuraWell load tester (see Benchmarks/README.md, "Load tests").
import ArgumentParser

LoadTesterCommand.main()
