# Learning modules (LibTorch lives here and only here).
add_library(engram_modules STATIC
  common/device.cc
  common/torch_state.cc
  common/tensor_archive.cc
  common/finite_step.cc
  common/fused_adam.cc
  common/int8_weights.cc
  association/gumbel_softmax.cc
  association/discrete_vae.cc
  association/raw_codec.cc
  association/gaussian_vae.cc
  association/lifelong_vae.cc
  association/hat_mask.cc
  association/masked_gan.cc
  association/compression_probe.cc
  neocortex/classifier.cc
  neocortex/dense_predictor.cc
  neocortex/learner.cc
  neocortex/recall_selection.cc
  neocortex/soft_targets.cc
  neocortex/automatic_recall.cc
  memory/memory_kind.cc
  memory/memory_registry.cc
  memory/dvae_kind.cc
  memory/raw_kind.cc
  memory/none_kind.cc
  memory/lwf_kind.cc
  memory/arm_kind.cc
  memory/lifelong_vae_kind.cc
  memory/dgm_kind.cc
  lifelong/lifelong_protocol.cc
  actors/tensor_payload.cc
  actors/association_actor.cc
  actors/neocortex_actor.cc
  session/session.cc
  session/session_config_json.cc
  session/session_settings.cc
  session/session_snapshot.cc
  session/remote_modules.cc
  session/served_modules.cc
  session/session_modules.cc
  session/association_from.cc
  session/agent_config.cc
  session/online_agent.cc
  session/stream_learning.cc
  session/learning_events.cc
  session/replay_options.cc
  distill/mnist_tensors.cc
  distill/teacher.cc
  distill/recollection_store.cc
  distill/distiller.cc
  distributed/process_group.cc
  distributed/snapshot_ranks.cc
  distributed/gradient_sync.cc
  distributed/session_ranks.cc
)
target_link_libraries(engram_modules PUBLIC engram_hippocampus engram_distill engram_io engram_reports engram_sensors engram_runtime ${TORCH_LIBRARIES}
  nlohmann_json::nlohmann_json)
# A torch translation unit costs 20-30 s; the precompiled header pays that once per build.
target_precompile_headers(engram_modules PRIVATE torch_pch.h)
# The one-example inference path (engram_predict) must vectorise its loops, which -O2's cost
# model leaves scalar; it includes no torch header.
set_source_files_properties(neocortex/dense_predictor.cc PROPERTIES COMPILE_OPTIONS "-O3"
                            SKIP_PRECOMPILE_HEADERS ON)
