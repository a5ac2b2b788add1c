"""The example pipeline's fault-free result, computed here from its documented definition
(examples/README.md) rather than taken from the code under test."""

MAX_INPUT = 10**6
FNV_OFFSET = 0xcbf29ce484222325
FNV_PRIME = 0x100000001b3
MASK64 = 2**64 - 1


def task_input(task_id):
    return 1 + (task_id * 2654435761) % MAX_INPUT


def collatz_steps(number):
    steps = 0
    while number != 1:
        number = number // 2 if number % 2 == 0 else 3 * number + 1
        steps += 1
    return steps


def fnv1a_word(hash_value, word):
    # FNV-1a over the 8 bytes of a 64-bit word, least significant byte first.
    for shift in range(0, 64, 8):
        hash_value = ((hash_value ^ ((word >> shift) & 0xFF)) * FNV_PRIME) & MASK64
    return hash_value


def expected_result(size):
    """result.txt of a run of `size` tasks without faults."""
    checksum, total = FNV_OFFSET, 0
    for task_id in range(size):
        value = collatz_steps(task_input(task_id))
        checksum = fnv1a_word(fnv1a_word(checksum, task_id), value)
        total += value
    return f"tasks {size}\nresults {size}\nchecksum {checksum:016x}\nsum {total}\n"


if __name__ == "__main__":
    # examples/README.md documents this one: checksum 1e17a9be3e79bfcf, sum 261986.
    assert expected_result(2000) == "tasks 2000\nresults 2000\nchecksum 1e17a9be3e79bfcf\nsum 261986\n"
    print(expected_result(2000), end="")
