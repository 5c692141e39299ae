// The seccomp program of commands without a net grant (core/os-sandbox/socket-filter.ts), checked
// as bytes: decoded back into instructions and compared with the intended program, then run by a
// small classic-BPF interpreter on the syscalls that matter (socket with each family, socketpair,
// io_uring_setup, the x32 ABI, another architecture).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BadInputError } from "../../errors/index.ts";
import {
  encodeFilter,
  JEQ,
  JGE,
  LD_ABS,
  RET,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  unixSocketFilter,
  unixSocketFilterProgram,
  type BpfInstruction,
} from "../../core/os-sandbox/socket-filter.ts";

const X86_64 = 0xc000003e;
const AARCH64 = 0xc00000b7;
const I386 = 0x40000003;

function decode(bytes: Uint8Array): BpfInstruction[] {
  assert.equal(bytes.length % 8, 0);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BpfInstruction[] = [];
  for (let i = 0; i < bytes.length; i += 8) out.push({ code: v.getUint16(i, true), jt: v.getUint8(i + 2), jf: v.getUint8(i + 3), k: v.getUint32(i + 4, true) });
  return out;
}

// Runs `prog` on a seccomp_data of (nr, arch, args[0]); only the opcodes the filter may use.
function run(prog: readonly BpfInstruction[], nr: number, arch: number, arg0: number): number {
  const data = new DataView(new ArrayBuffer(64));
  data.setUint32(0, nr, true);
  data.setUint32(4, arch, true);
  data.setUint32(16, arg0, true);
  let acc = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const ins = prog[pc] as BpfInstruction;
    if (ins.code === LD_ABS) acc = data.getUint32(ins.k, true);
    else if (ins.code === JEQ) pc += acc === ins.k ? ins.jt : ins.jf;
    else if (ins.code === JGE) pc += acc >= ins.k ? ins.jt : ins.jf;
    else if (ins.code === RET) return ins.k;
    else assert.fail(`unexpected opcode 0x${ins.code.toString(16)} at ${pc}`);
  }
  return assert.fail("fell off the end of the program");
}

const EACCES = SECCOMP_RET_ERRNO | 13;
const ENOSYS = SECCOMP_RET_ERRNO | 38;

describe("the Unix-socket seccomp filter", () => {
  it("x86_64: the bytes decode to the intended program", () => {
    assert.deepEqual(decode(unixSocketFilter("x64")), [
      { code: LD_ABS, jt: 0, jf: 0, k: 4 },
      { code: JEQ, jt: 0, jf: 9, k: X86_64 },
      { code: LD_ABS, jt: 0, jf: 0, k: 0 },
      { code: JGE, jt: 7, jf: 0, k: 0x40000000 },
      { code: JEQ, jt: 5, jf: 0, k: 425 },
      { code: JEQ, jt: 0, jf: 3, k: 41 },
      { code: LD_ABS, jt: 0, jf: 0, k: 16 },
      { code: JEQ, jt: 0, jf: 1, k: 1 },
      { code: RET, jt: 0, jf: 0, k: EACCES },
      { code: RET, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW },
      { code: RET, jt: 0, jf: 0, k: ENOSYS },
      { code: RET, jt: 0, jf: 0, k: SECCOMP_RET_KILL_PROCESS },
    ]);
  });

  it("x86_64: refuses socket(AF_UNIX) and io_uring_setup; allows AF_INET, AF_INET6, socketpair and other syscalls; kills x32 and i386 calls", () => {
    const p = decode(unixSocketFilter("x64"));
    assert.equal(run(p, 41, X86_64, 1), EACCES, "socket(AF_UNIX)");
    assert.equal(run(p, 41, X86_64, 2), SECCOMP_RET_ALLOW, "socket(AF_INET)");
    assert.equal(run(p, 41, X86_64, 10), SECCOMP_RET_ALLOW, "socket(AF_INET6)");
    assert.equal(run(p, 53, X86_64, 1), SECCOMP_RET_ALLOW, "socketpair(AF_UNIX)");
    assert.equal(run(p, 0, X86_64, 1), SECCOMP_RET_ALLOW, "read(1, ...)");
    assert.equal(run(p, 425, X86_64, 0), ENOSYS, "io_uring_setup");
    assert.equal(run(p, 0x40000000 | 41, X86_64, 1), SECCOMP_RET_KILL_PROCESS, "x32 socket");
    assert.equal(run(p, 359, I386, 1), SECCOMP_RET_KILL_PROCESS, "i386 socket");
  });

  it("aarch64: the same rules with its numbers, no x32 check", () => {
    const p = decode(unixSocketFilter("arm64"));
    assert.equal(p.length, 11);
    assert.equal(p.filter((i) => i.code === JGE).length, 0);
    assert.equal(run(p, 198, AARCH64, 1), EACCES, "socket(AF_UNIX)");
    assert.equal(run(p, 198, AARCH64, 2), SECCOMP_RET_ALLOW, "socket(AF_INET)");
    assert.equal(run(p, 199, AARCH64, 1), SECCOMP_RET_ALLOW, "socketpair(AF_UNIX)");
    assert.equal(run(p, 425, AARCH64, 0), ENOSYS, "io_uring_setup");
    assert.equal(run(p, 41, X86_64, 1), SECCOMP_RET_KILL_PROCESS, "an x86_64 call");
  });

  it("an architecture it does not know is BAD_INPUT naming the ones it knows, never a program that allows everything", () => {
    for (const arch of ["ia32", "riscv64", "ppc64", "s390x", "__proto__", "toString"]) {
      assert.throws(
        () => unixSocketFilterProgram(arch),
        (e: Error) => e instanceof BadInputError && /x64 and arm64/.test(e.message),
        arch,
      );
    }
    assert.equal(encodeFilter(unixSocketFilterProgram()).length % 8, 0, "control: this machine's architecture is known");
  });
});
