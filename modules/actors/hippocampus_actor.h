// The hippocampus actor: owns the code buffer and answers store/sample/seal/stats requests
// (messages.h has the contracts). Needs no torch.
//
// kGetStats reply (kStats): ints size, capacity, seen, bits_per_item, code_bits, bytes_used,
// budget_bytes, sealed (items recallable in this phase), phase_mark_bytes and
// recall_index_bytes (bookkeeping outside budget_bytes); payloads i64 [classes] items per class,
// i64 [tasks] items per task, i64 [classes] sealed items per class, i64 [tasks] sealed per task.
//
// A malformed kSample or kSeal request gets a kError reply (strings: error, naming the
// problem) instead of its usual one; the buffer and the sampler's random stream are unchanged,
// and the handler's Status carries the same error (so the actor counts it).
#pragma once

#include <memory>
#include <random>

#include "modules/hippocampus/code_buffer.h"
#include "runtime/actor.h"

namespace engram {

class HippocampusActor final : public ActorBehavior {
 public:
  // The buffer is built on the controlling thread; the actor owns it afterwards.
  HippocampusActor(CodeBuffer buffer, uint64_t sample_seed);
  // Same, resuming the sampler's random stream from a snapshot.
  HippocampusActor(CodeBuffer buffer, std::mt19937_64 sampler);

  std::string name() const override { return "hippocampus"; }
  // Binds the actor's ROUTER on its own endpoint.
  Status start(ActorContext& ctx) override;
  // Handles kStore (no reply), kSample, kSeal, kGetStats and kSaveState; see messages.h.
  Status on_message(ActorContext& ctx, SocketId from, std::optional<std::string> routing_id,
                    Message&& msg) override;

 private:
  Status store(Message& msg);
  Expected<Message> sample(const Message& request);
  Message stats() const;
  Message state() const;

  CodeBuffer buffer_;
  std::mt19937_64 rng_;
  SocketId socket_ = 0;
  std::vector<uint32_t> scratch_;
};

}  // namespace engram
