// chaos_monkey: kills random containers of its own compose deployment, to
// show that vigil heals it. See examples/README.md.
#include "chaos_monkey/chaos_app.hpp"
#include "common/app.hpp"
#include "common/hang.hpp"

int main() {
    return example::run_app("chaos_monkey", [](const example::Settings& settings, vigil::Monitor& monitor) {
        const example::HangSwitch hang_switch{settings};
        example::ChaosApp app{example::ChaosSettings::from(settings), monitor, hang_switch};
        return app.run();
    });
}
