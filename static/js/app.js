// Starts GOV.UK Frontend and MOJ Frontend on every page.
//
// Loaded as <script type="module">, so it runs only in browsers that support ES modules:
// those are the browsers GOV.UK Frontend supports. Adding `govuk-frontend-supported` here,
// rather than in the official template's inline <script>, keeps every page free of inline
// scripts for the Content Security Policy. Module scripts are deferred, so body exists.
import { initAll as initGovukFrontend } from '../vendor/govuk-frontend/govuk-frontend.min.js'
import { initAll as initMojFrontend } from '../vendor/moj-frontend/moj-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initGovukFrontend()
initMojFrontend()
