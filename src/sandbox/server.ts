// The HTTPS server: owns the lifecycle (keys and certificates at start,
// connections at close), the sandbox's state, and the test-facing API.
import { createServer } from 'node:https';
import { AuthorizationCodeStore } from './authorization-codes.js';
import { createTlsMaterial } from './certificates.js';
import { DeviceCodeStore } from './device-codes.js';
import { Directory, requireTenantId } from './directory.js';
import { FailureQueue } from './failures.js';
import { FaultQueue } from './injected-faults.js';
import { checkInjectedFailure, throttleFailure } from './injected-failures.js';
import { sendJson } from './http-io.js';
import { TokenSigner } from './jwt.js';
import { MessageStore } from './mail-messages.js';
import { MailboxPermissions, requireAddress } from './mailbox-permissions.js';
import { RefreshTokenStore } from './refresh-tokens.js';
import { ResourceDecisionLog } from './resource-decisions.js';
import { RevokedAccessTokens } from './revoked-access-tokens.js';
import { route } from './routes.js';
import type { SandboxContext } from './routes.js';
import { TokenRequestStats } from './stats.js';
import { verifyAccessToken, verifyIdToken } from './token-verification.js';
import type {
  AccessTokenClaims,
  IdTokenClaims,
  InjectedFailure,
  InjectedFault,
  InjectedThrottle,
  MailboxRight,
  RegisteredSandboxUser,
  ResourceDecision,
  Sandbox,
  SandboxApplication,
  SandboxHooks,
  SandboxMessage,
  SandboxOptions,
  SandboxServerCertificate,
  SandboxUser,
} from './types.js';
import { UserDirectory } from './users.js';
import { close, listen } from './listening.js';
import { SecretsSeen } from './secrets-seen.js';

const DEFAULT_LIFETIME_SECONDS = 3600;
const DEFAULT_DEVICE_CODE_INTERVAL_SECONDS = 5;

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const lifetime = options.accessTokenLifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  const interval = options.deviceCodeIntervalSeconds ?? DEFAULT_DEVICE_CODE_INTERVAL_SECONDS;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`"port" must be an integer in 0..65535, got ${String(port)}`);
  }
  if (!Number.isInteger(lifetime) || lifetime < 1) {
    throw new RangeError(`"accessTokenLifetimeSeconds" must be a positive integer, got ${String(lifetime)}`);
  }
  if (!Number.isInteger(interval) || interval < 1) {
    throw new RangeError(`"deviceCodeIntervalSeconds" must be a positive integer, got ${String(interval)}`);
  }
  const clock = options.clock ?? { now: () => Date.now() };
  const hostnames = options.hostnames ?? [];

  const [tls, signer] = await Promise.all([createTlsMaterial(Date.now(), hostnames), TokenSigner.create()]);
  // Requests cannot arrive before `listen` resolves, and the context needs the bound port.
  let context: SandboxContext | undefined = undefined;
  const server = createServer({ key: tls.serverKeyPem, cert: tls.serverCertificatePem }, (request, response) => {
    if (context === undefined) return void response.destroy();
    route(request, response, context).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: 'server_error', error_description: String(error) });
      else response.destroy();
    });
  });
  const boundPort = await listen(server, port, host);
  const url = `https://localhost:${boundPort}`;
  let signedInUsername: string | undefined;
  const hooks: SandboxHooks = {};
  const directory = new Directory();
  const users = new UserDirectory();
  const refreshTokens = new RefreshTokenStore();
  const deviceCodes = new DeviceCodeStore();
  const stats = new TokenRequestStats();
  const failures = new FailureQueue<InjectedFailure>(checkInjectedFailure);
  const faults = new FaultQueue();
  const mailboxes = new MailboxPermissions((address) => users.find(address) !== undefined);
  const messages = new MessageStore();
  const revokedAccessTokens = new RevokedAccessTokens(signer);
  const resourceDecisions = new ResourceDecisionLog();
  const secretsSeen = new SecretsSeen();
  context = {
    authorityUrl: url,
    hosts: ['localhost', '127.0.0.1', ...hostnames].map((name) => `${name}:${boundPort}`),
    directory,
    users,
    signer,
    stats,
    failures,
    faults,
    clock,
    accessTokenLifetimeSeconds: lifetime,
    deviceCodeIntervalSeconds: interval,
    refreshTokens,
    codes: new AuthorizationCodeStore(),
    deviceCodes,
    hooks,
    signedInUsername: () => signedInUsername,
    mailboxes,
    messages,
    revokedAccessTokens,
    resourceDecisions,
    secretsSeen,
  };

  const requireUser = (username: string): NonNullable<ReturnType<UserDirectory['find']>> => {
    const user = users.find(username);
    if (user === undefined) throw new RangeError(`no user '${username}' is registered`);
    return user;
  };

  return {
    url,
    port: boundPort,
    caCertificatePem: tls.caCertificatePem,
    stats,
    hooks,
    secretsSeen: () => secretsSeen.list(),
    registerApplication(app: SandboxApplication): void {
      directory.register(app);
    },
    failNext(failure: InjectedFailure): void {
      failures.push(failure);
    },
    throttleNext(throttle?: InjectedThrottle): void {
      failures.push(throttleFailure(throttle));
    },
    faultNext(fault: InjectedFault): void {
      faults.push(fault);
    },
    useServerCertificate(certificate: SandboxServerCertificate | undefined): void {
      const { keyPem, certificatePem } = certificate ?? { keyPem: tls.serverKeyPem, certificatePem: tls.serverCertificatePem };
      server.setSecureContext({ key: keyPem, cert: certificatePem });
      // A kept connection would go on with the certificate it was opened with.
      server.closeIdleConnections();
    },
    verifyAccessToken(token: string): AccessTokenClaims | undefined {
      return verifyAccessToken(signer, clock, token);
    },
    verifyIdToken(token: string): IdTokenClaims | undefined {
      return verifyIdToken(signer, clock, token);
    },
    registerUser(user: SandboxUser): RegisteredSandboxUser {
      const tenantId = requireTenantId(user.tenantId);
      const registered = users.register(user, directory.tenantId(tenantId) ?? tenantId, clock.now());
      directory.addTenant(registered.tenantId);
      return registered;
    },
    revokeUserSessions(username: string): void {
      users.revokeSessions(username, clock.now());
    },
    changePassword(username: string, newPassword: string): void {
      users.changePassword(username, newPassword, clock.now());
    },
    expireRefreshTokens(username?: string): number {
      if (username === undefined) return refreshTokens.expire(() => true);
      const { objectId } = requireUser(username);
      return refreshTokens.expire((session) => session.userObjectId === objectId);
    },
    signInAs(username: string | undefined): void {
      signedInUsername = username === undefined ? undefined : requireUser(username).username;
    },
    approveDeviceCode(userCode: string, username: string): void {
      deviceCodes.approve(userCode, requireUser(username), clock.now());
    },
    declineDeviceCode(userCode: string): void {
      deviceCodes.decline(userCode, clock.now());
    },
    grantMailboxAccess(mailbox: string, principal: string, rights?: readonly MailboxRight[]): void {
      requireAddress(mailbox);
      // A typo in a principal would otherwise grant nothing and fail far away, at a login.
      if (typeof principal !== 'string' || (users.find(principal) === undefined && directory.findApplicationAnywhere(principal) === undefined)) {
        throw new RangeError(`"principal" '${String(principal)}' is neither a registered user's UPN nor a registered application's client id`);
      }
      mailboxes.grant(mailbox, principal, rights);
    },
    revokeAccessToken(token: string): void {
      revokedAccessTokens.revoke(token);
    },
    deliverMessage(mailbox: string, message: SandboxMessage): string {
      if (!mailboxes.exists(requireAddress(mailbox))) {
        throw new RangeError(`no mailbox '${mailbox}': register its user, or name it in grantMailboxAccess (a shared mailbox)`);
      }
      return messages.deliver(mailbox, message, clock.now());
    },
    get resourceDecisions(): readonly ResourceDecision[] {
      return resourceDecisions.all();
    },
    close: () => close(server),
  };
}
