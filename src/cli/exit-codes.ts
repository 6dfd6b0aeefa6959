// Exit codes of every token-broker command (CONTRACT.md). 78 is EX_CONFIG:
// systemd's RestartPreventExitStatus=78 stops a restart loop on a bad config.
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  configInvalid: 78,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Thrown by commands to end with a message and a code; main prints it. */
export class CommandFailure extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.failed) {
    super(message);
    this.exitCode = exitCode;
  }
}
