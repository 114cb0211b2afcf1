// The warning before the idle sign-out (templates/includes/timeout_warning.html): shown
// `data-warning-seconds` before the session's idle time runs out. "Stay signed in" posts to
// the server, which saves the session, and closes the warning without leaving the page, so
// a form half filled in is kept. If nobody answers, the page goes to sign in when the time is
// up, rather than failing on the next click.
const dialog = document.getElementById('timeout-warning')

if (dialog && typeof dialog.showModal === 'function') {
  const warningSeconds = Number(dialog.dataset.warningSeconds)
  const countdown = dialog.querySelector('[data-timeout-countdown]')
  const form = dialog.querySelector('form[data-timeout-stay]')
  let warnTimer, signOutTimer, tick

  const words = (seconds) => {
    if (seconds >= 60) {
      const minutes = Math.ceil(seconds / 60)
      return `${minutes} minute${minutes === 1 ? '' : 's'}`
    }
    return `${seconds} second${seconds === 1 ? '' : 's'}`
  }

  const start = (secondsLeft) => {
    clearTimeout(warnTimer)
    clearTimeout(signOutTimer)
    clearInterval(tick)
    const endsAt = Date.now() + secondsLeft * 1000
    warnTimer = setTimeout(() => {
      countdown.textContent = words(Math.round((endsAt - Date.now()) / 1000))
      tick = setInterval(() => {
        countdown.textContent = words(Math.max(0, Math.round((endsAt - Date.now()) / 1000)))
      }, 1000)
      dialog.showModal()
      form.querySelector('button').focus()
    }, Math.max(0, secondsLeft - warningSeconds) * 1000)
    signOutTimer = setTimeout(() => {
      window.location.href = dialog.dataset.signedOutUrl
    }, secondsLeft * 1000)
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const response = await fetch(form.action, {
      method: 'POST',
      body: new FormData(form),
      credentials: 'same-origin',
      redirect: 'manual'
    })
    if (response.status === 204) {
      clearInterval(tick)
      dialog.close()
      start(Number(dialog.dataset.fullSeconds || dialog.dataset.secondsLeft))
    } else {
      window.location.href = dialog.dataset.signedOutUrl
    }
  })

  start(Number(dialog.dataset.secondsLeft))
}
