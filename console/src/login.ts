// The console without a usable login: Node-RED's own login form (the password grant the editor uses), or a
// page saying plainly that this user may not look — and nothing fetched beyond "who am I".
import { ADMIN_ROOT, login, logout } from './api';
import { fill, h } from './dom';

export function showLogin(root: HTMLElement, type: string | null, done: () => void): void {
  if (type !== 'credentials') {
    fill(
      root,
      h('h2', null, 'Log in'),
      h('p', null, 'The console uses the login of the Node-RED editor. ', h('a', { href: ADMIN_ROOT }, 'Log in to the editor'), ', then come back to this page.'),
    );
    return;
  }
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true });
  const user = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h(
    'form',
    { class: 'login', 'aria-labelledby': 'login-title' },
    h('h2', { id: 'login-title' }, 'Log in'),
    h('p', null, 'Log in with your Node-RED account (the editor\'s login). Looking needs the permission ', h('code', null, 'segur-dpi.read'), '; replaying and reconciling ', h('code', null, 'segur-dpi.write'), '.'),
    problem,
    h('label', { for: 'login-username' }, 'Username'),
    user,
    h('label', { for: 'login-password' }, 'Password'),
    pass,
    h('button', { type: 'submit', class: 'primary' }, 'Log in'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    problem.hidden = true;
    void login(user.value, pass.value).then((ok) => {
      if (ok) return done();
      fill(problem, 'Wrong username or password.');
      problem.hidden = false;
      pass.value = '';
      pass.focus();
    });
  });
  fill(root, form);
  user.focus();
}

/** "Not allowed": no adminAuth at all, or a login without segur-dpi.read. */
export function showNotAllowed(root: HTMLElement, why: 'no-admin-auth' | 'permission', message: string, relogin: (() => void) | null = null): void {
  fill(
    root,
    h(
      'section',
      { class: 'not-allowed', 'aria-labelledby': 'not-allowed-title' },
      h('h2', { id: 'not-allowed-title' }, 'Not allowed'),
      why === 'no-admin-auth'
        ? h('p', null, 'This Node-RED runs without a login (no adminAuth in its settings): the console shows no patient data. ', message)
        : h('p', null, 'You are logged in, but your account may not use the console (it needs the permission ', h('code', null, 'segur-dpi.read'), '), or your session has expired. Ask the administrator of Node-RED, or log in as another user.'),
      relogin ? h('button', { type: 'button', class: 'primary', onclick: () => void logout().then(() => showLoginAgain(root, relogin)) }, 'Log in as another user') : null,
    ),
  );
}

function showLoginAgain(root: HTMLElement, done: () => void): void {
  showLogin(root, 'credentials', done);
}
