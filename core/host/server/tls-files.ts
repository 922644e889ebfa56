import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

/**
 * The central host's TLS certificate: given as PEM files (--tls-cert/--tls-key), or a
 * self-signed pair made on first start with the system's `openssl` (P-256, 825 days, the listen
 * address and localhost as names) and kept in a folder, so that tills can trust it once (its
 * cert.pem as SSCARD_HOST_CA, the fingerprint checked by eye).
 */
export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 fingerprint of the certificate, AA:BB:… */
  readonly fingerprint: string;
  readonly certPath: string;
  /** True when the pair was made just now. */
  readonly created: boolean;
}

export function fingerprintOf(cert: Buffer | string): string {
  return new X509Certificate(cert).fingerprint256;
}

/** Loads a certificate and key; throws naming the file that is missing or not PEM. */
export function loadTls(certPath: string, keyPath: string): TlsFiles {
  const read = (path: string, what: string) => {
    if (!existsSync(path)) throw new TypeError(`${what} ${path} does not exist`);
    const data = readFileSync(path);
    if (!data.toString('latin1').includes('-----BEGIN '))
      throw new TypeError(`${what} ${path} is not a PEM file`);
    return data;
  };
  const cert = read(certPath, '--tls-cert');
  const key = read(keyPath, '--tls-key');
  let fingerprint: string;
  try {
    fingerprint = fingerprintOf(cert);
  } catch {
    throw new TypeError(`--tls-cert ${certPath} is not an X.509 certificate`);
  }
  return { cert, key, fingerprint, certPath, created: false };
}

/** The self-signed pair in `dir` (cert.pem, key.pem), made first if absent. */
export function selfSignedTls(dir: string, address: string): TlsFiles {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) return loadTls(certPath, keyPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = ['DNS:localhost', 'IP:127.0.0.1'];
  if (address !== '0.0.0.0' && address !== '::' && address !== '127.0.0.1')
    names.push(isIP(address) ? `IP:${address}` : `DNS:${address}`);
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '825',
        '-subj',
        '/CN=sscard-central-host',
        '-addext',
        `subjectAltName=${names.join(',')}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new TypeError(
      code === 'ENOENT'
        ? 'cannot make a self-signed certificate: openssl is not installed (apt-get install openssl), or give --tls-cert/--tls-key'
        : `openssl could not make a self-signed certificate in ${dir}: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`,
      { cause: e },
    );
  }
  chmodSync(keyPath, 0o600);
  return { ...loadTls(certPath, keyPath), created: true };
}
