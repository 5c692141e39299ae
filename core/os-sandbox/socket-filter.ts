// The seccomp filter a command without a net grant runs under: socket(AF_UNIX, ...) fails with
// EACCES. Without a network namespace of the host's, IP sockets reach only the sandbox's own
// loopback, but a Unix socket is a file: one inside a read grant (a service's socket, the Docker
// socket) would let a file grant act as a network grant (D25, N14), which the bridge never allows.
// socketpair() stays allowed (it reaches nothing outside the process tree). io_uring_setup is
// refused too (ENOSYS, so programs fall back to plain syscalls): an io_uring socket operation
// never passes through the syscall filter.
//
// Hand-assembled classic BPF rather than a library: libseccomp has no maintained Node binding, and
// the program is a dozen instructions whose every byte the unit test decodes and runs.
import { endianness } from "node:os";
import { BadInputError } from "../../errors/index.ts";

/** One classic-BPF instruction (struct sock_filter). */
export type BpfInstruction = { readonly code: number; readonly jt: number; readonly jf: number; readonly k: number };

// Opcodes: BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_JMP|BPF_JGE|BPF_K, BPF_RET|BPF_K.
export const LD_ABS = 0x20;
export const JEQ = 0x15;
export const JGE = 0x35;
export const RET = 0x06;

// Return values (linux/seccomp.h) and errno values.
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const EACCES = 13;
const ENOSYS = 38;
const AF_UNIX = 1;

// Offsets in struct seccomp_data: nr, arch, then instruction_pointer (8 bytes) and args[6] (8 each);
// args[0]'s low 32 bits are at 16 on a little-endian machine.
const NR = 0;
const ARCH = 4;
const ARG0_LOW = 16;

/** What the filter needs to know of one architecture. */
type Arch = { readonly audit: number; readonly socket: number; readonly ioUringSetup: number; readonly x32: boolean };

// AUDIT_ARCH_* and syscall numbers; x86_64 also has the x32 ABI (numbers with bit 30 set), which
// has its own socket number and is refused whole.
const ARCHES: Readonly<Record<string, Arch>> = {
  x64: { audit: 0xc000003e, socket: 41, ioUringSetup: 425, x32: true },
  arm64: { audit: 0xc00000b7, socket: 198, ioUringSetup: 425, x32: false },
};

/** The filter program for Node's `arch` ("x64", "arm64"), or BAD_INPUT naming the architectures it knows. */
export function unixSocketFilterProgram(arch: string = process.arch): BpfInstruction[] {
  const a = Object.hasOwn(ARCHES, arch) ? ARCHES[arch] : undefined;
  if (a === undefined) {
    throw new BadInputError(
      `exec: warden's Unix-socket filter for commands without a net grant knows x64 and arm64, not ${JSON.stringify(arch)}, and will not run a command without it; run the host on x86_64 or aarch64 Linux (a plugin with a net grant needs no filter: its commands share the host's network anyway)`,
    );
  }
  // Labels resolved to jump offsets below: an offset counts instructions after the jump's own.
  type Op = { code: number; k: number; jt?: string; jf?: string } | { label: string };
  const ops: Op[] = [
    { code: LD_ABS, k: ARCH },
    // Another architecture's syscall numbers mean other things (i386's socketcall): killed.
    { code: JEQ, k: a.audit, jf: "kill" },
    { code: LD_ABS, k: NR },
    ...(a.x32 ? [{ code: JGE, k: 0x40000000, jt: "kill" }] : []),
    { code: JEQ, k: a.ioUringSetup, jt: "nosys" },
    { code: JEQ, k: a.socket, jf: "allow" },
    { code: LD_ABS, k: ARG0_LOW },
    { code: JEQ, k: AF_UNIX, jf: "allow" },
    { code: RET, k: SECCOMP_RET_ERRNO | EACCES },
    { label: "allow" },
    { code: RET, k: SECCOMP_RET_ALLOW },
    { label: "nosys" },
    { code: RET, k: SECCOMP_RET_ERRNO | ENOSYS },
    { label: "kill" },
    { code: RET, k: SECCOMP_RET_KILL_PROCESS },
  ];
  const at = new Map<string, number>();
  let n = 0;
  for (const op of ops) {
    if ("label" in op) at.set(op.label, n);
    else n++;
  }
  const out: BpfInstruction[] = [];
  for (const op of ops) {
    if ("label" in op) continue;
    const here = out.length;
    const to = (l: string | undefined) => (l === undefined ? 0 : (at.get(l) as number) - here - 1);
    out.push({ code: op.code, jt: to(op.jt), jf: to(op.jf), k: op.k >>> 0 });
  }
  return out;
}

/** The program as the bytes bwrap's --seccomp reads: struct sock_filter[], in this machine's byte order. */
export function encodeFilter(program: readonly BpfInstruction[]): Uint8Array {
  // seccomp_data's argument offsets above are little-endian ones; a big-endian host gets no filter.
  if (endianness() !== "LE") throw new BadInputError("exec: warden's Unix-socket filter is written for little-endian machines; run the host on x86_64 or aarch64 Linux");
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach((ins, i) => {
    view.setUint16(i * 8, ins.code, true);
    view.setUint8(i * 8 + 2, ins.jt);
    view.setUint8(i * 8 + 3, ins.jf);
    view.setUint32(i * 8 + 4, ins.k, true);
  });
  return bytes;
}

/** The encoded filter for this machine (see unixSocketFilterProgram). */
export function unixSocketFilter(arch: string = process.arch): Uint8Array {
  return encodeFilter(unixSocketFilterProgram(arch));
}
