// Message types the module actors exchange (the `type` frame of an envelope) and what they carry.
// Payload order is part of each contract; ints/reals/strings are header parameters.
#pragma once

namespace engram::msg {

// driver -> association. payloads: x f32 [B,P] (B = 0 in a consolidation phase), y i64 [B],
// active u8 [classes], optionally weights f32 [classes or tasks] (strings weights_by = "class" |
// "task": the hippocampus draws with them). ints: task, replay (recollections per batch, 0 =
// none), draw (codes to draw per batch: replay x candidates for active/diverse), select (0 none,
// 1 active, 2 diverse), delay (decode this many batches at once), phase (decoded-ahead
// recollections are dropped when it changes), learn_association (0: the association does not
// learn from a batch without real data). reals: replay_weight, label_weight, soft_weight,
// temperature (passed on to the neocortex). No reply: the neocortex acknowledges with kTrained.
inline constexpr const char* kObserve = "observe";
// association -> hippocampus. payloads: codes u8|i32 [B,c], labels i32 [B], tasks i32 [B].
inline constexpr const char* kStore = "store";
// association -> hippocampus: draw n stored codes with replacement. ints: n (0 to 2^20),
// sealed_only (default 1: only items sealed by kSeal, i.e. learned before this phase; 0: all).
// Optional weights: strings weights_by = "class" or "task", payload 0 f32 [classes or tasks]
// (finite, >= 0): each draw picks a class (task) with probability proportional to its weight
// among those with eligible items, then one of its eligible items uniformly; no weights:
// uniform over eligible items. Reply kCodes (n is 0 when nothing is eligible); a malformed
// request (wrong dtype or size, NaN or negative weight, unknown weights_by) gets kError naming
// the problem.
inline constexpr const char* kSample = "sample";
// association -> hippocampus: end of a phase, every code stored so far becomes recallable
// (sealed); codes stored from now on are fresh until the next kSeal. No payload. Reply kDone.
inline constexpr const char* kSeal = "seal";
// hippocampus -> association. payloads: codes u8|i32 [n,c], labels i32 [n], tasks i32 [n].
// n is 0 when no stored code qualifies.
inline constexpr const char* kCodes = "codes";
// association -> neocortex. payloads: x, y, active, then optionally xr f32 [R,P], yr i64 [R].
// ints: select, keep (train on the `keep` selected of the R candidates), association_skipped,
// association_learned (1 when a variational association learned the real batch: then reals
// association_reconstruction and association_kl, nats per image, its negative ELBO terms).
// reals: replay_weight, label_weight, soft_weight, temperature.
inline constexpr const char* kTrain = "train";
// neocortex -> driver (PUSH). payload: recalled_per_class i64 [classes]. ints: real, recalled
// (examples trained on), neocortex_skipped, association_skipped, association_learned (as
// kTrain's). reals: loss_real, loss_replay, association_reconstruction, association_kl (with
// association_learned).
inline constexpr const char* kTrained = "trained";
// driver -> neocortex. payloads: x f32 [N,P], y i64 [N], active u8 [classes]. Reply kAccuracy
// (reals: accuracy).
inline constexpr const char* kEvaluate = "evaluate";
inline constexpr const char* kAccuracy = "accuracy";
// driver -> association: freeze the decoder copy used for recall, drop recollections decoded
// ahead, and seal the hippocampus's buffer (kSeal). driver -> neocortex: keep a copy of the
// classifier as the teacher (soft targets, LwF). Reply kDone.
inline constexpr const char* kConsolidate = "consolidate";
// driver -> association. payloads: x f32 [N,P]. Reply kDistortion (reals: l1 = mean |x -
// recall(encode(x))|).
inline constexpr const char* kMeasureDistortion = "measure_distortion";
inline constexpr const char* kDistortion = "distortion";
// driver -> association (a kind with a buffer): up to n recollections of class `class`, drawn
// with replacement from every code stored so far (sealed or not) and decoded by the live decoder
// (what the memory recalls once the current phase is consolidated). ints: n (1 to 2^16), class.
// Reply kRecollections: payload x f32 [k,P], k = n, or 0 when nothing of the class is stored;
// on failure no payload and strings: error.
inline constexpr const char* kRecollect = "recollect";
inline constexpr const char* kRecollections = "recollections";
// driver -> any actor. Reply kStats with module figures in ints/reals. The association first
// flushes its stores into the hippocampus (as for kSaveState), so ask it before the hippocampus.
inline constexpr const char* kGetStats = "get_stats";
inline constexpr const char* kStats = "stats";
inline constexpr const char* kDone = "done";
// driver -> any module actor: its learned state for a snapshot. Reply kState with u8 payloads:
// hippocampus [code buffer bytes][sampler RNG text], association and neocortex [state bytes].
// The association first completes a round trip with the hippocampus, so every code it has
// stored is in the buffer before the driver asks the hippocampus.
inline constexpr const char* kSaveState = "save_state";
inline constexpr const char* kState = "state";
// driver -> a module served by another process (`engram serve`, served_module.h): the state to
// serve from now on, replacing any earlier one. Hippocampus: u8 payloads [code buffer bytes]
// [sampler RNG text], as its kState. Association and neocortex (served_modules.h): strings
// config (the session configuration, session_config_json.h), ints rows, cols, classes (the
// dataset's), payload u8 [state bytes] as their kState. Reply kDone, or kError (strings: error)
// when the state does not load. Heartbeats (kPing/kPong) are in runtime/heartbeat_monitor.h.
inline constexpr const char* kAdopt = "adopt";
// driver's relay (module_relay.h) -> a served module: this connection carries what the module's
// actor sends to its peers, and their replies (a served module never dials out). No reply.
// driver -> its relay: open the links (after the served modules adopted). Reply kDone or kError.
inline constexpr const char* kLink = "link";
// The header string naming the peer of a relayed message: set by the served module on what its
// actor sends to that peer, and by the driver's relay on the peer's replies.
inline constexpr const char* kRelayKey = "relay";
// any -> driver: a request failed. strings: error.
inline constexpr const char* kError = "error";

}  // namespace engram::msg
