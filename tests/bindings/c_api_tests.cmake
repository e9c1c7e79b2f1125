# The C API (bindings/c): unit tests against libengram.so, and the installed package.
engram_test(NAME test_c_api SOURCES bindings/test_c_api.cc LIBS engram_c LABELS unit TIMEOUT 300)
