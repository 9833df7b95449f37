// The Flex Consumption plan and the Python function app, with every app setting the code
// reads. Storage, Speech and App Insights are all reached with the user-assigned identity; the one
// secret, SPEECH_WEBHOOK_SECRET, opens nothing but the batch web hook route. Flex takes the runtime from functionAppConfig
// and rejects FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION as app settings.

param name string
param planName string
param location string
param tags object

@description('Resource ID of the user-assigned identity the app runs as.')
param identityId string
@description('Client ID of that identity; DefaultAzureCredential and the host pick it by this.')
param identityClientId string

param storageAccountName string
param deploymentContainerName string
param inputContainerName string
param outputContainerName string
@description('Queue for job-completion messages (the identity already has Storage Queue Data Contributor).')
param completionQueueName string

@description('Custom-domain Speech endpoint, https://<subdomain>.cognitiveservices.azure.com/.')
param speechEndpoint string
param speechLanguage string

param applicationInsightsConnectionString string

@secure()
@description('The batch web hook\'s HMAC key (SPEECH_WEBHOOK_SECRET): a key to that one route, to no resource.')
param speechWebhookSecret string

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Blob invocations one instance runs at once (host.json maxDegreeOfParallelism, overridden here).')
@minValue(1)
param blobConcurrency int

@description('Recordings the sweep transcribes at once (SWEEP_CONCURRENCY).')
@minValue(1)
param sweepConcurrency int

@description('When the sweep runs (SWEEP_SCHEDULE, read by the timer trigger).')
param sweepSchedule string

// Built from the cloud's suffix rather than read from the account: this module needs no
// `existing` reference to the storage account at all, only its name.
var blobServiceUri = 'https://${storageAccountName}.blob.${environment().suffixes.storage}'
var queueServiceUri = 'https://${storageAccountName}.queue.${environment().suffixes.storage}'

// The contract with the code (shared/settings.py, function_app.py); tests/test_infra.py
// cross-checks these names against it.
var appSettings = {
  // Host storage (leases, keys, trigger bookkeeping), identity-based.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: blobServiceUri
  AzureWebJobsStorage__queueServiceUri: queueServiceUri
  // Connection "AudioStorage": the blob trigger binding and the app's own blob client.
  // The queue URI is there because the Event Grid blob trigger keeps its poison queue there.
  AudioStorage__credential: 'managedidentity'
  AudioStorage__clientId: identityClientId
  AudioStorage__blobServiceUri: blobServiceUri
  AudioStorage__queueServiceUri: queueServiceUri
  INPUT_CONTAINER: inputContainerName
  OUTPUT_CONTAINER: outputContainerName
  COMPLETION_QUEUE: completionQueueName
  SPEECH_ENDPOINT: speechEndpoint
  SPEECH_LANGUAGE: speechLanguage
  // Sized from the Speech quota in main.bicep: a full scale-out stays within it.
  AzureFunctionsJobHost__extensions__blobs__maxDegreeOfParallelism: string(blobConcurrency)
  SWEEP_CONCURRENCY: string(sweepConcurrency)
  SWEEP_SCHEDULE: sweepSchedule
  // The code's defaults, set here so an operator sees and changes them in one place (the portal);
  // tests/test_infra.py keeps each equal to its default in shared/settings/model.py.
  SPEECH_START_RETRY_SECONDS: '300'
  MAX_ATTEMPTS: '20'
  JOB_QUEUED_TTL_MINUTES: '60'
  SPEECH_WORDS: 'false'
  SPEECH_PROFANITY: 'masked'
  SPEECH_DIARIZATION: 'true'
  // realtime, fast or auto (docs/engines.md): fast needs S0 and the same identity and role, nothing more.
  SPEECH_ENGINE: 'realtime'
  // Checks the Speech service's batch callbacks (HMAC); post-deploy.sh registers the web hook with it.
  SPEECH_WEBHOOK_SECRET: speechWebhookSecret
  // With several identities possible on a host, azure-identity must be told which one.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // Entra-authenticated telemetry; required because the component has local auth disabled.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // Linux; Flex Consumption has no Windows workers.
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the deployment target for service "api" by this tag.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Public: Event Grid must reach the blob extension's webhook.
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        for setting in items(appSettings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          // Flex runs the package from this container; the identity reads it, no SAS URL.
          type: 'blobContainer'
          value: '${blobServiceUri}/${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        // No alwaysReady entry: zero instances (and zero compute cost) when nothing arrives.
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.13'
      }
    }
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
