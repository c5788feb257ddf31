// The load tester is being written; see issue 6.
print("aurawell-load: not built yet")
