# Snapshot tests that need LibTorch (module states, sessions, the CLI in new processes).
engram_test(NAME test_snapshot_resume SOURCES integration/test_snapshot_resume.cc
            LIBS engram_modules LABELS integration TIMEOUT 600)
engram_test(NAME test_association_from SOURCES integration/test_association_from.cc
            LIBS engram_modules LABELS integration TIMEOUT 600)
add_test(NAME resume_cli
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/resume_cli.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(resume_cli PROPERTIES LABELS integration TIMEOUT 600)
