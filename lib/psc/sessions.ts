// The sessions opened after a PSC login, kept on the server: the cookie only names a session, the
// session table decides. A session ends at its expiry (the configured lifetime, counted from the
// login), at logout, or when it is revoked (one session, every session of a national id, all). In
// memory: sessions are lost when Node-RED restarts (the users log in again).
import { randomBytes } from 'node:crypto';
import type { PscProfessional } from './professional';

export interface PscSession {
  /** Random, 256 bits, base64url: what the sealed cookie carries. */
  readonly id: string;
  readonly professional: PscProfessional;
  /** The ID token of the login, kept for the logout (id_token_hint); never leaves the server otherwise. */
  readonly idToken: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface SessionStoreOptions {
  /** Lifetime of a session, in milliseconds. */
  lifetimeMs: number;
  /** At most this many sessions; opening one more ends the oldest. Default 10,000. */
  maxSessions?: number;
  now?: () => number;
}

export class SessionStore {
  private readonly sessions = new Map<string, PscSession>();
  private readonly lifetimeMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(opts: SessionStoreOptions) {
    if (!(opts.lifetimeMs > 0)) throw new Error('session lifetime must be positive');
    this.lifetimeMs = opts.lifetimeMs;
    this.maxSessions = opts.maxSessions ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Opens a session for a professional who just logged in. */
  open(professional: PscProfessional, idToken: string): PscSession {
    this.sweep();
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    const now = this.now();
    const session: PscSession = Object.freeze({
      id: randomBytes(32).toString('base64url'),
      professional,
      idToken,
      createdAt: now,
      expiresAt: now + this.lifetimeMs,
    });
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session of an id; null when there is none, it has expired or was revoked. */
  get(id: unknown): PscSession | null {
    if (typeof id !== 'string') return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return null;
    }
    return s;
  }

  /** Ends a session (logout, revocation); returns it when it was live. */
  end(id: unknown): PscSession | null {
    const s = this.get(id);
    if (s) this.sessions.delete(s.id);
    return s;
  }

  /** Ends every session of a national id (SubjectNameID); returns how many. */
  revokeNationalId(nationalId: string): number {
    let n = 0;
    for (const [id, s] of this.sessions) {
      if (s.professional.nationalId === nationalId) {
        this.sessions.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Ends every session; returns how many were live. */
  revokeAll(): number {
    this.sweep();
    const n = this.sessions.size;
    this.sessions.clear();
    return n;
  }

  /** The number of live sessions. */
  get size(): number {
    this.sweep();
    return this.sessions.size;
  }

  /** Forgets expired sessions. */
  sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}
