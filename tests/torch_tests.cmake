# Tests that need LibTorch (only built when ENGRAM_WITH_TORCH=ON).
include(${CMAKE_CURRENT_LIST_DIR}/bench/torch_benches.cmake OPTIONAL)

# --- modules with torch ---
engram_test(NAME test_gumbel_softmax SOURCES modules/test_gumbel_softmax.cc LIBS engram_modules LABELS unit TIMEOUT 120)
engram_test(NAME test_discrete_vae SOURCES modules/test_discrete_vae.cc LIBS engram_modules LABELS unit TIMEOUT 180)
# papers/002: KLs, the frozen teacher, growth, the consistency effect, bad settings, state.
engram_test(NAME test_lifelong_vae SOURCES modules/test_lifelong_vae.cc LIBS engram_modules LABELS unit TIMEOUT 600)
# papers/004: HAT masks, protection of reserved units, exact growth, recognisable old classes, settings, state.
engram_test(NAME test_dgm SOURCES modules/test_dgm.cc LIBS engram_modules LABELS unit TIMEOUT 300)
engram_test(NAME test_learner SOURCES modules/test_learner.cc LIBS engram_modules LABELS unit TIMEOUT 180)
# Data-parallel learning on c10d/Gloo: two ranks (threads) keep identical weights; bad settings refused.
engram_test(NAME test_data_parallel SOURCES modules/test_data_parallel.cc LIBS engram_modules LABELS unit TIMEOUT 120)
engram_test(NAME test_snapshot_ranks SOURCES modules/test_snapshot_ranks.cc LIBS engram_modules LABELS unit TIMEOUT 120)
# The one-example inference copy engram_predict uses: same answers as Learner::predict.
engram_test(NAME test_dense_predictor SOURCES modules/test_dense_predictor.cc LIBS engram_modules LABELS unit TIMEOUT 60)
engram_test(NAME test_automatic_recall SOURCES modules/test_automatic_recall.cc LIBS engram_modules LABELS unit TIMEOUT 120)
# Module state format (no TorchScript parsed from a snapshot): round trips and damaged input.
engram_test(NAME test_tensor_archive SOURCES modules/test_tensor_archive.cc LIBS engram_modules LABELS unit sanitize TIMEOUT 60)
engram_test(NAME test_int8_weights SOURCES modules/test_int8_weights.cc LIBS engram_modules LABELS unit sanitize TIMEOUT 60)
engram_test(NAME test_soft_targets SOURCES modules/test_soft_targets.cc LIBS engram_modules LABELS unit sanitize TIMEOUT 60)
# Fused Adam step: the same parameters and moments as torch::optim::Adam, state shared both ways.
engram_test(NAME test_fused_adam SOURCES modules/test_fused_adam.cc LIBS engram_modules LABELS unit sanitize TIMEOUT 60)
engram_test(NAME test_compression_probe SOURCES modules/test_compression_probe.cc LIBS engram_lua_module LABELS unit TIMEOUT 120)
engram_test(NAME test_distiller SOURCES modules/test_distiller.cc LIBS engram_modules LABELS unit sanitize TIMEOUT 240)
engram_test(NAME test_lua_module SOURCES modules/test_lua_module.cc LIBS engram_lua_module LABELS unit TIMEOUT 60)
# Omniglot from Lua: its alphabets and engram.split(ds, "groups").
engram_test(NAME test_lua_omniglot SOURCES bindings/test_lua_omniglot.cc LIBS engram_lua_module LABELS unit TIMEOUT 60)
engram_test(NAME test_lua_curriculum SOURCES modules/test_lua_curriculum.cc LIBS engram_lua_module LABELS unit TIMEOUT 120)
# Integer settings from JSON and from Lua: range-checked before they are narrowed.
engram_test(NAME test_json_settings SOURCES modules/test_json_settings.cc LIBS engram_modules LABELS unit TIMEOUT 60)
engram_test(NAME test_lua_settings SOURCES modules/test_lua_settings.cc LIBS engram_lua_module LABELS unit TIMEOUT 120)
# What runs record for reports: learning curves, the dvae's -ELBO, recollection grids (PNG).
engram_test(NAME test_lua_run_records SOURCES modules/test_lua_run_records.cc LIBS engram_lua_module LABELS unit TIMEOUT 120)

# --- integration ---
engram_test(NAME test_split_small SOURCES integration/test_split_small.cc LIBS engram_modules LABELS integration sanitize TIMEOUT 300)
# Hundreds of classes (Omniglot's 242 characters): label bits, class-balanced recall, the head.
engram_test(NAME test_many_classes SOURCES integration/test_many_classes.cc LIBS engram_modules LABELS integration TIMEOUT 300)
# Recall samplers, consolidation phases, task order, snapshots with replay options, lwf.
engram_test(NAME test_curriculum SOURCES integration/test_curriculum.cc LIBS engram_modules LABELS integration sanitize TIMEOUT 300)
engram_test(NAME test_recall_selection SOURCES modules/test_recall_selection.cc LIBS engram_modules LABELS unit TIMEOUT 120)
# Sensor frames through SensorBridge into Session learning: nothing lost, NaN never learned.
engram_test(NAME test_stream_learning SOURCES integration/test_stream_learning.cc LIBS engram_modules LABELS integration sanitize TIMEOUT 300)
# Event-driven schedules over a stream: the C++ event hook and Lua handler coroutines (kinds,
# stop, replay replies, errors with the script line, the sandbox's budgets, nothing lost).
engram_test(NAME test_stream_events SOURCES integration/test_stream_events.cc integration/test_lua_events.cc LIBS engram_lua_module LABELS integration TIMEOUT 300)
# Progress lines of every long phase a script runs (teacher, memory, distillation, lifelong VAE,
# compression probe, stream learning, restore): plain lines in a file, silenced by quiet.
engram_test(NAME test_progress_phases SOURCES integration/test_progress_phases.cc LIBS engram_lua_module LABELS integration TIMEOUT 120)
# Runs the built `engram` binary (exit codes, messages).
engram_test(NAME test_cli SOURCES integration/test_cli.cc LABELS integration TIMEOUT 120)
target_compile_definitions(test_cli PRIVATE ENGRAM_CLI="$<TARGET_FILE:engram>")
add_dependencies(test_cli engram)
# --log-level (which lines show, bad levels) and --quiet (no progress lines) of `engram`.
engram_test(NAME test_cli_log SOURCES integration/test_cli_log.cc LABELS integration TIMEOUT 120)
target_compile_definitions(test_cli_log PRIVATE ENGRAM_CLI="$<TARGET_FILE:engram>")
add_dependencies(test_cli_log engram)
# Data-parallel `engram run` (two processes on loopback): refusals, Split MNIST with two ranks.
engram_test(NAME test_cli_ranks SOURCES integration/test_cli_ranks.cc LABELS integration TIMEOUT 300)
target_compile_definitions(test_cli_ranks PRIVATE ENGRAM_CLI="$<TARGET_FILE:engram>")
add_dependencies(test_cli_ranks engram)
engram_test(NAME test_cli_ranks_snapshot SOURCES integration/test_cli_ranks_snapshot.cc LABELS integration TIMEOUT 600)
target_compile_definitions(test_cli_ranks_snapshot PRIVATE ENGRAM_CLI="$<TARGET_FILE:engram>")
add_dependencies(test_cli_ranks_snapshot engram)
engram_test(NAME test_cli_settings SOURCES integration/test_cli_settings.cc LABELS integration TIMEOUT 120)
target_compile_definitions(test_cli_settings PRIVATE ENGRAM_CLI="$<TARGET_FILE:engram>")
add_dependencies(test_cli_settings engram)
# `engram config --list` prints every declared option; the README's option tables equal it.
engram_test(NAME test_config_list SOURCES integration/test_config_list.cc LABELS integration TIMEOUT 60)
target_compile_definitions(test_config_list PRIVATE ENGRAM_CLI="$<TARGET_FILE:engram>")
add_dependencies(test_config_list engram)

# A Python publisher streams MNIST into a learning engram (needs Debian's python3-zmq/-msgpack).
add_test(NAME stream_learn
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/stream_learn.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR} 5791)
set_tests_properties(stream_learn PROPERTIES LABELS integration TIMEOUT 600)
# The same over CURVE: keys from `engram keygen`, the publisher admitted by its public key.
add_test(NAME stream_learn_curve
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/stream_learn.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR} 5792 curve)
set_tests_properties(stream_learn_curve PROPERTIES LABELS integration TIMEOUT 600)
# examples/curriculum.lua end to end with the Python publisher: its event handler (sleeps,
# snapshot on quiet) and Lua sampler function, every frame learned.
add_test(NAME curriculum_example
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/curriculum_example.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR} 5793)
set_tests_properties(curriculum_example PROPERTIES LABELS integration TIMEOUT 300)
# The hippocampus in a process of its own (engram serve): the same results as threads, CURVE
# and a refused key, kill -9 noticed within 10 s, snapshots between one process and two.
add_test(NAME serve_hippocampus
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/serve_hippocampus.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(serve_hippocampus PROPERTIES LABELS integration TIMEOUT 300)
# The association and the neocortex served (engram serve), alone and with the hippocampus: the
# same results as threads, snapshots, CURVE and a refused key, kill -9 noticed within 10 s.
add_test(NAME serve_modules
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/serve_modules.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(serve_modules PROPERTIES LABELS integration TIMEOUT 300)
# scripts/distill_mnist.lua end to end at a tiny scale (tables, caches, a bad column).
add_test(NAME distill_script
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/distill_script.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(distill_script PROPERTIES LABELS integration TIMEOUT 600)
# scripts/curriculum_mnist.lua and split_mnist.lua end to end at a tiny scale.
add_test(NAME curriculum_scripts
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/curriculum_scripts.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(curriculum_scripts PROPERTIES LABELS integration TIMEOUT 600)
# scripts/lifelong_vae.lua --set quick=1 end to end, and split_mnist.lua's lifelong_vae rows.
add_test(NAME lifelong_vae_script
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/lifelong_vae_script.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(lifelong_vae_script PROPERTIES LABELS integration TIMEOUT 600)
# scripts/dgm_mnist.lua --set quick=1 end to end (papers/004): A5/A10 rows, growth, grids.
add_test(NAME dgm_mnist_script
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/dgm_mnist_script.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(dgm_mnist_script PROPERTIES LABELS integration TIMEOUT 600)
# scripts/omniglot_alphabets.lua --set quick=1 end to end (latent size, rows, 242 characters).
add_test(NAME omniglot_script
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/omniglot_script.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(omniglot_script PROPERTIES LABELS integration TIMEOUT 300)
# scripts/compression_sweep.lua --set quick=true end to end (CSV, plot, distortion ordering).
add_test(NAME compression_sweep_script
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/compression_sweep_script.sh
                 $<TARGET_FILE:engram> ${PROJECT_SOURCE_DIR})
set_tests_properties(compression_sweep_script PROPERTIES LABELS integration TIMEOUT 600)
# scripts/arm_mnist.lua --set quick=true end to end (every method, bytes, A_T/F_T columns).
add_test(NAME arm_mnist_script
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/arm_mnist_script.sh $<TARGET_FILE:engram>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(arm_mnist_script PROPERTIES LABELS integration TIMEOUT 300)
