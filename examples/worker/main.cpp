// worker: consumes tasks from RabbitMQ, computes, publishes results.
// Needs CONTAINER_NAME and a broker; see examples/README.md for the knobs.
#include "common/app.hpp"
#include "common/hang.hpp"
#include "worker/worker_app.hpp"

int main() {
    return example::run_app("worker", [](const example::Settings& settings, vigil::Monitor& monitor) {
        const example::HangSwitch hang_switch{settings};
        example::WorkerApp app{example::WorkerSettings::from(settings), monitor, hang_switch};
        return app.run();
    });
}
