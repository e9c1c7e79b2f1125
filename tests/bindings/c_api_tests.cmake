# The C API (bindings/c): unit tests against libengram.so, and the installed package.
engram_test(NAME test_c_api SOURCES bindings/test_c_api.cc LIBS engram_c LABELS unit sanitize TIMEOUT 300)

# `cmake --install` into a temporary prefix; examples/host_app.c built against it with
# find_package(engram) and with pkg-config, and run.
add_test(NAME c_api_install
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/install_test.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
set_tests_properties(c_api_install PROPERTIES LABELS integration TIMEOUT 300)
