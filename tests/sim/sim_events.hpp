#pragma once
// The simulation's single timeline: a min-heap of pending happenings ordered by
// (time, insertion order), so that equal times replay in a fixed order.
#include <cstdint>
#include <queue>
#include <vector>

#include "vigil/time.hpp"

namespace vigil::sim {

enum class EventKind : std::uint8_t {
    Tick,          // sidecar loop of one process: watchdog check, then core tick
    Pulse,         // the service's main loop calls pulse()
    Boot,          // a started process reaches its connect
    LinkUp,        // the transport (re)connected
    NotifyDown,    // the transport noticed its link is gone
    Deliver,       // a message reaches a node's queue consumer
    CutEnd,        // one node's partition from the broker ends
    OutageEnd,     // the broker is back
    SplitEnd,      // the network split heals
    RestartAct,    // the restart command kills/starts the container
    RestartDone,   // the restart command exits
    OperatorStart, // an operator starts a node that left gracefully
    Start,         // first start of a container
    LoopCrash,     // a node in a crash loop dies soon after its start
    LinkDies,      // the broker drops a connection whose AMQP heartbeats stopped one way or both
    Signal,        // a fast crash signal reaches a node (sim_signals.cpp)
    Reconcile,     // a new leader's look at every container's state comes back
};

struct SimEvent {
    Millis at{0};
    std::uint64_t seq = 0;
    EventKind kind = EventKind::Tick;
    std::size_t slot = 0;
    std::uint64_t a = 0;  // meaning depends on kind: process id, message index, command index ...
    std::uint64_t b = 0;
    bool flag = false;
};

class EventQueue {
public:
    void push(SimEvent event) {
        event.seq = next_seq_++;
        heap_.push(event);
    }
    bool empty() const { return heap_.empty(); }
    Millis next_time() const { return heap_.top().at; }
    SimEvent pop() {
        SimEvent event = heap_.top();
        heap_.pop();
        return event;
    }
    std::size_t size() const { return heap_.size(); }

private:
    struct Later {
        bool operator()(const SimEvent& x, const SimEvent& y) const {
            return x.at != y.at ? x.at > y.at : x.seq > y.seq;
        }
    };
    std::priority_queue<SimEvent, std::vector<SimEvent>, Later> heap_;
    std::uint64_t next_seq_ = 0;
};

}  // namespace vigil::sim
