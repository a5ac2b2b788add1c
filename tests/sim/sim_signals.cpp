// Fast crash signals in the simulation: what the broker's event exchange and
// Docker's event stream tell, with faults of their own (lost, duplicated,
// late enough to be about a life or connection already replaced).
#include "sim_cluster.hpp"

namespace vigil::sim {

// The broker deletes the slot's exclusive queue as its connection goes: every
// node connected now is told (queue.deleted), unless the broker itself is
// down (an outage closes every connection and tells nobody).
void Simulation::link_closing(std::size_t slot) {
    if (options_.broker_signals && !broker_down_) report_link_closed(slot);
}

// ... also what a lying broker says of a live connection (self-test only).
void Simulation::report_link_closed(std::size_t slot) {
    const auto& p = slots_[slot].process;
    if (!network_.up(slot) || !p || p->queue_link == 0) return;
    Observation closed{Observation::Kind::LinkClosed, slots_[slot].name, p->queue_incarnation, p->queue_link, Millis{0}};
    signals_.push_back(SimSignal{std::move(closed), true});
    for (std::size_t to = 0; to < slots_.size(); ++to) {
        if (to != slot && network_.up(to)) send_signal(signals_.back(), to, network_.epoch(to));
    }
}

// Docker's die / start of the slot's container, to whoever follows the event
// stream: the processes leading now.
void Simulation::container_event(std::size_t slot, Observation::Kind kind) {
    if (!options_.docker_signals) return;
    signals_.push_back(SimSignal{Observation{kind, slots_[slot].name, 0, 0, now_}, false});
    for (std::size_t to = 0; to < slots_.size(); ++to) {
        const Node* n = node(to);
        if (to != slot && n && n->is_leader()) send_signal(signals_.back(), to, slots_[to].process->id);
    }
}

// `tag`: the recipient's connection epoch (broker) or process id (Docker):
// a signal for a connection or process that is gone is gone with it.
void Simulation::send_signal(const SimSignal& signal, std::size_t to, std::uint64_t tag) {
    const Weather& w = options_.signal_weather;
    const std::uint64_t index = signals_.size() - 1;
    const int copies = signal_rng_.chance(w.dup_ppm) ? 2 : 1;
    ++stats_.signals_sent;
    if (signal_rng_.chance(w.loss_ppm)) return;
    for (int i = 0; i < copies; ++i) {
        const Millis delay{signal_rng_.between(w.delay_min.count(), w.delay_max.count())};
        queue_.push(SimEvent{now_ + delay, 0, EventKind::Signal, to, index, tag, signal.via_broker});
    }
}

void Simulation::on_signal(const SimEvent& e) {
    auto& p = slots_[e.slot].process;
    if (!p) return;
    const SimSignal& signal = signals_[e.a];
    if (signal.via_broker ? (!network_.up(e.slot) || network_.epoch(e.slot) != e.b) : p->id != e.b) return;
    if (!signal.via_broker && !p->node->is_leader()) return;  // it stopped following Docker's events
    ++stats_.signals_delivered;
    Observation observation = signal.observation;
    observation.at += p->clock_offset;  // Docker's time, on this host's clock
    trace_.note(now_, slots_[e.slot].name, " <- signal ", to_string(observation.kind), " of ", observation.name);
    apply(e.slot, p->node->observe(observation, local(*p)));
}

// `docker inspect` of every member: a stopped container is reported exited,
// when it stopped; running ones say nothing.
void Simulation::on_reconcile(std::size_t slot, std::uint64_t process_id) {
    Process* p = process(slot, process_id);
    if (!p || !p->node->is_leader()) return;
    for (std::size_t q = 0; q < slots_.size(); ++q) {
        if (q == slot || slots_[q].process) continue;
        const Observation exited{Observation::Kind::ContainerExited, slots_[q].name, 0, 0,
                                 slots_[q].down_since + p->clock_offset};
        trace_.note(now_, slots_[slot].name, " reconciles: ", slots_[q].name, " exited");
        apply(slot, p->node->observe(exited, local(*p)));
        if (!process(slot, process_id)) return;
    }
}

}  // namespace vigil::sim
