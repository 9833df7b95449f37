// Speech-to-text on Azure Functions Flex Consumption, keyless end to end: one user-assigned
// identity, Entra ID RBAC on every data plane, no account keys or connection secrets.
// Deployed by `azd up` (main.parameters.json) or `az deployment sub create`; see README.md, "Deploy".
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; seeds the resource token and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region for every resource; it must offer Flex Consumption and Speech.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object ID of the deploying user. When set, that user gets the app\'s data-plane roles (for local runs and uploads); leave empty in CI.')
param principalId string = ''

@description('Kind of principal principalId is: a person, or the service principal a pipeline signs in as.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Recognition language for Speech (BCP-47).')
param speechLanguage string = 'en-US'

@description('Container the blob trigger watches for new audio.')
param inputContainerName string = 'audio-in'

@description('Container transcripts are written to.')
param outputContainerName string = 'transcripts'

@description('Queue that gets a message when a transcription job ends (COMPLETION_QUEUE).')
param completionQueueName string = 'transcription-completions'

@description('Memory per Flex instance; 2048 leaves room to decode long audio.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Speech pricing tier: S0 (pay per audio hour) or F0 (free, one concurrent session).')
@allowed([
  'S0'
  'F0'
])
param speechSku string = 'S0'

@description('Concurrent real-time sessions the Speech resource allows: 100 on S0 by default (raised by a support request), 1 on F0. The app\'s scale-out and per-instance concurrency are derived from it.')
@minValue(1)
@maxValue(10000)
param speechConcurrentSessions int = speechSku == 'F0' ? 1 : 100

@description('When the sweep runs (NCRONTAB: second minute hour day month weekday).')
param sweepSchedule string = '0 */5 * * * *'

// Generated once per azd environment by scripts/pre-provision.sh (by hand: openssl rand -hex 32), so it stays
// the same from one deployment to the next and the registered web hook keeps matching it. It is a key to that
// one route, to no resource.
@secure()
@description('HMAC key of the batch web hook (SPEECH_WEBHOOK_SECRET), at least 16 characters.')
@minLength(16)
param speechWebhookSecret string

// Sizing from the Speech quota, so that a full scale-out stays within it: every blob invocation holds
// one Speech session, and so does every recording the sweep is transcribing. One formula, written
// twice: bench/capacity/sizing.py is the same, and tests/test_infra.py checks that the two agree for
// every quota from 1 to 1000 (docs/capacity.md shows what a fleet larger than the quota costs).
// - the sweep takes a quarter of the quota, 1 to 4 sessions (one instance of its own): enough to catch
//   up on events the host's queue dropped after 7 days when the quota is small;
// - each blob instance runs up to 4 invocations at once, fewer when the quota is smaller
//   (host.json's maxDegreeOfParallelism, overridden by an app setting in function.bicep);
// - as many blob instances as the rest of the quota holds, within Flex's 1..1000 (the cap applies to
//   each scale group; HTTP requests get the same cap and wait for a session like the rest).
// With a quota of 1 (F0) one invocation and the sweep can overlap: the second is refused and retries.
var sweepConcurrency = min(4, max(1, speechConcurrentSessions / 4))
var blobConcurrency = min(4, max(1, speechConcurrentSessions - sweepConcurrency))
var maximumInstanceCount = max(1, min(1000, max(0, speechConcurrentSessions - sweepConcurrency) / blobConcurrency))

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
// The account is dedicated to this app, so a fixed container name is unambiguous.
var deploymentContainerName = 'app-package'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    containerNames: [
      inputContainerName
      outputContainerName
      deploymentContainerName
    ]
    queueNames: [
      completionQueueName
    ]
    trustedResourceIds: [
      speech.outputs.id
    ]
  }
}

module speech 'app/speech.bicep' = {
  name: 'speech'
  scope: rg
  params: {
    name: '${abbrs.cognitiveServicesSpeech}${resourceToken}'
    location: location
    tags: tags
    sku: speechSku
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    speechAccountName: speech.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityPrincipalId: identity.outputs.principalId
    speechPrincipalId: speech.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    inputContainerName: inputContainerName
    outputContainerName: outputContainerName
    completionQueueName: completionQueueName
    speechEndpoint: speech.outputs.endpoint
    speechLanguage: speechLanguage
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    blobConcurrency: blobConcurrency
    sweepConcurrency: sweepConcurrency
    sweepSchedule: sweepSchedule
    speechWebhookSecret: speechWebhookSecret
  }
  // The host's first start should find its storage roles already granted, not retry
  // against 403s until they land.
  dependsOn: [
    rbac
  ]
}

module eventGrid 'app/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    name: '${abbrs.eventGridSystemTopics}${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
  }
}

// Read by azd (into the environment) and by scripts/post-deploy.sh.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.name
output INPUT_CONTAINER string = inputContainerName
output COMPLETION_QUEUE string = completionQueueName
output OUTPUT_CONTAINER string = outputContainerName
output SPEECH_ENDPOINT string = speech.outputs.endpoint
output MAXIMUM_INSTANCE_COUNT int = maximumInstanceCount
output BLOB_CONCURRENCY int = blobConcurrency
